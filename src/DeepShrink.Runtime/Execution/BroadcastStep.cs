using DeepShrink.Core;
using System.Numerics.Tensors;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// Element-wise add, sub, mul or div with numpy broadcasting of per-sample shapes. The second operand is a
/// second input or a constant (a decoded <c>b</c> parameter, shared by every sample). Axes are merged where
/// both operands run contiguously (<see cref="BroadcastLayout"/>), so equal shapes are one vector operation
/// over the whole batch and a per-channel [C, 1, 1] constant is one vector-scalar operation per plane.
/// </summary>
internal sealed class BroadcastStep : Step
{
    private readonly float[]? _constant;
    private readonly BroadcastLayout _layout;

    /// <param name="a">Storage of the first operand, per-sample shape <paramref name="aShape"/>.</param>
    /// <param name="b">Storage of the second operand, or -1 when <paramref name="constant"/> is given.</param>
    public BroadcastStep(string name, string op, int a, int[] aShape, int b, int[] bShape, float[]? constant, int[] outShape)
        : base(name, op, constant is null ? [a, b] : [a],
            constant is null ? [Numel(aShape), Numel(bShape)] : [Numel(aShape)], -1, Numel(outShape))
    {
        if (op is not ("add" or "sub" or "mul" or "div")) throw new ArgumentException($"broadcast step: unknown op '{op}'");
        _constant = constant;
        _layout = BroadcastLayout.Create(outShape, aShape, bShape, bPerSample: constant is null);
    }

    /// <inheritdoc/>
    public override bool CanRunInPlace => true;

    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        ReadOnlySpan<float> a = In(f, 0);
        ReadOnlySpan<float> b = _constant ?? In(f, 1);
        var y = Out(f);
        var l = _layout;
        int rank = l.Extents.Length, last = rank - 1;
        int inner = l.Extents[last] * (last == 0 ? f.Batch : 1);
        bool aVec = l.StrideA[last] != 0, bVec = l.StrideB[last] != 0;
        long outer = 1;
        for (int d = 0; d < last; d++) outer *= l.Extents[d] * (d == 0 ? f.Batch : 1);
        Span<int> idx = stackalloc int[rank];
        long oa = 0, ob = 0, oy = 0;
        for (long k = 0; k < outer; k++)
        {
            Inner(Op, aVec ? a.Slice((int)oa, inner) : a.Slice((int)oa, 1), aVec, bVec ? b.Slice((int)ob, inner) : b.Slice((int)ob, 1), bVec, y.Slice((int)oy, inner));
            for (int d = last - 1; d >= 0; d--)
            {
                int extent = l.Extents[d] * (d == 0 ? f.Batch : 1);
                oa += l.StrideA[d]; ob += l.StrideB[d]; oy += l.StrideY[d];
                if (++idx[d] < extent) break;
                oa -= (long)l.StrideA[d] * extent; ob -= (long)l.StrideB[d] * extent; oy -= (long)l.StrideY[d] * extent;
                idx[d] = 0;
            }
        }
        Finish(y);
    }

    /// <summary>One innermost run: each operand is a vector of the run's length or a single value.</summary>
    private static void Inner(string op, ReadOnlySpan<float> a, bool aVec, ReadOnlySpan<float> b, bool bVec, Span<float> y)
    {
        if (aVec && bVec)
        {
            switch (op)
            {
                case "add": TensorPrimitives.Add(a, b, y); break;
                case "sub": TensorPrimitives.Subtract(a, b, y); break;
                case "mul": TensorPrimitives.Multiply(a, b, y); break;
                default: TensorPrimitives.Divide(a, b, y); break;
            }
        }
        else if (aVec)
        {
            float s = b[0];
            switch (op)
            {
                case "add": TensorPrimitives.Add(a, s, y); break;
                case "sub": TensorPrimitives.Subtract(a, s, y); break;
                case "mul": TensorPrimitives.Multiply(a, s, y); break;
                default: TensorPrimitives.Divide(a, s, y); break;
            }
        }
        else if (bVec)
        {
            float s = a[0];
            switch (op)
            {
                case "add": TensorPrimitives.Add(b, s, y); break;
                case "sub": TensorPrimitives.Subtract(s, b, y); break;
                case "mul": TensorPrimitives.Multiply(b, s, y); break;
                default: TensorPrimitives.Divide(s, b, y); break;
            }
        }
        else
        {
            float u = a[0], v = b[0];
            y.Fill(op switch { "add" => u + v, "sub" => u - v, "mul" => u * v, _ => u / v });
        }
    }

    private static int Numel(int[] shape) => ShapeUtil.Numel(shape);
}

/// <summary>
/// Strides of a broadcast element-wise op over [batch, output axes...], with size-1 output axes dropped and
/// neighbouring axes merged wherever every operand is contiguous across them. The first axis always holds the
/// batch: its extent is multiplied by the batch size at run time.
/// </summary>
internal sealed record BroadcastLayout(int[] Extents, int[] StrideA, int[] StrideB, int[] StrideY)
{
    /// <summary>Layout for per-sample shapes <paramref name="a"/> and <paramref name="b"/> broadcast to <paramref name="outShape"/>;
    /// <paramref name="bPerSample"/> false means b is one constant shared by the batch.</summary>
    public static BroadcastLayout Create(int[] outShape, int[] a, int[] b, bool bPerSample)
    {
        int r = outShape.Length;
        var dims = new List<(int E, int A, int B, int Y)>
        {
            (1, ShapeUtil.Numel(a), bPerSample ? ShapeUtil.Numel(b) : 0, ShapeUtil.Numel(outShape)),
        };
        for (int i = 0; i < r; i++)
        {
            if (outShape[i] == 1) continue;
            dims.Add((outShape[i], Stride(a, i, r), Stride(b, i, r), ShapeUtil.Numel(outShape.AsSpan(i + 1))));
        }
        var merged = new List<(int E, int A, int B, int Y)> { dims[0] };
        foreach (var d in dims.Skip(1))
        {
            var p = merged[^1];
            if (p.A == d.A * d.E && p.B == d.B * d.E && p.Y == d.Y * d.E) merged[^1] = (p.E * d.E, d.A, d.B, d.Y);
            else merged.Add(d);
        }
        return new BroadcastLayout(merged.Select(d => d.E).ToArray(), merged.Select(d => d.A).ToArray(),
            merged.Select(d => d.B).ToArray(), merged.Select(d => d.Y).ToArray());
    }

    /// <summary>Stride of output axis <paramref name="i"/> (of <paramref name="rank"/>) in a right-aligned operand shape; 0 when broadcast.</summary>
    private static int Stride(int[] shape, int i, int rank)
    {
        int j = i - (rank - shape.Length);
        return j < 0 || shape[j] == 1 ? 0 : ShapeUtil.Numel(shape.AsSpan(j + 1));
    }
}

using System.Numerics.Tensors;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// Clamped element-wise ops: clip (<c>min(max(x, lo), hi)</c>), hard_sigmoid (<c>clamp(alpha x + beta, 0, 1)</c>)
/// and hard_swish (<c>x clamp(x / 6 + 1/2, 0, 1)</c>, the MobileNetV3 form <c>x relu6(x + 3) / 6</c>).
/// </summary>
/// <remarks>For clip <paramref name="alpha"/> and <paramref name="beta"/> are the bounds (infinite when absent).</remarks>
internal sealed class ClampStep(string name, string op, int input, int size, float alpha, float beta)
    : Step(name, op, [input], [size], -1, size)
{
    private const int Chunk = 256;

    /// <summary>Ops this step implements.</summary>
    public static readonly string[] Kinds = ["clip", "hard_sigmoid", "hard_swish"];

    /// <inheritdoc/>
    public override bool CanRunInPlace => true;

    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        var x = In(f, 0);
        var y = Out(f);
        switch (Op)
        {
            case "clip":
                TensorPrimitives.Max(x, alpha, y);
                TensorPrimitives.Min(y, beta, y);
                break;
            case "hard_sigmoid":
                TensorPrimitives.Multiply(x, alpha, y);
                TensorPrimitives.Add(y, beta, y);
                TensorPrimitives.Max(y, 0f, y);
                TensorPrimitives.Min(y, 1f, y);
                break;
            default:
                Span<float> gate = stackalloc float[Chunk];
                for (int i = 0; i < y.Length; i += Chunk)
                {
                    int len = Math.Min(Chunk, y.Length - i);
                    var xs = x.Slice(i, len);
                    var g = gate[..len];
                    TensorPrimitives.Multiply(xs, 1f / 6f, g);
                    TensorPrimitives.Add(g, 0.5f, g);
                    TensorPrimitives.Max(g, 0f, g);
                    TensorPrimitives.Min(g, 1f, g);
                    TensorPrimitives.Multiply(xs, g, y.Slice(i, len));
                }
                break;
        }
        Finish(y);
    }
}

/// <summary>
/// Softmax along one axis of samples viewed as [outer, axis, inner]: <c>y = exp(x - max) / sum exp(x - max)</c>
/// over the axis (the maximum subtracted, so large logits do not overflow).
/// </summary>
internal sealed class SoftmaxStep(string name, int input, int outer, int axis, int inner)
    : Step(name, "softmax", [input], [outer * axis * inner], -1, outer * axis * inner)
{
    /// <inheritdoc/>
    public override bool CanRunInPlace => true;

    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        var x = In(f, 0);
        var y = Out(f);
        int block = axis * inner, blocks = f.Batch * outer;
        if (inner == 1)
        {
            for (int b = 0; b < blocks; b++) Row(x.Slice(b * block, block), y.Slice(b * block, block));
        }
        else
        {
            var scratch = System.Buffers.ArrayPool<float>.Shared.Rent(2 * inner);
            try
            {
                for (int b = 0; b < blocks; b++) Block(x.Slice(b * block, block), y.Slice(b * block, block), scratch.AsSpan(0, inner), scratch.AsSpan(inner, inner));
            }
            finally { System.Buffers.ArrayPool<float>.Shared.Return(scratch); }
        }
        Finish(y);
    }

    /// <summary>Softmax of one contiguous row (y may be x).</summary>
    private static void Row(ReadOnlySpan<float> x, Span<float> y)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, y);
        TensorPrimitives.Exp(y, y);
        TensorPrimitives.Divide(y, TensorPrimitives.Sum(y), y);
    }

    /// <summary>Softmax over the rows of an [axis, inner] block, per column (y may be x).</summary>
    private void Block(ReadOnlySpan<float> x, Span<float> y, Span<float> max, Span<float> sum)
    {
        x[..inner].CopyTo(max);
        for (int a = 1; a < axis; a++) TensorPrimitives.Max(max, x.Slice(a * inner, inner), max);
        sum.Clear();
        for (int a = 0; a < axis; a++)
        {
            var ya = y.Slice(a * inner, inner);
            TensorPrimitives.Subtract(x.Slice(a * inner, inner), max, ya);
            TensorPrimitives.Exp(ya, ya);
            TensorPrimitives.Add(sum, ya, sum);
        }
        for (int a = 0; a < axis; a++) TensorPrimitives.Divide(y.Slice(a * inner, inner), sum, y.Slice(a * inner, inner));
    }
}

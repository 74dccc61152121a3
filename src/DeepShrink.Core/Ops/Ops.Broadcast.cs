using System.Numerics.Tensors;

namespace DeepShrink.Core;

/// <summary>
/// Differentiable tensor operations (the primitives of the autograd graph and their compositions).
/// </summary>
public static partial class Ops
{
    /// <summary>Materialises <paramref name="x"/> broadcast to <paramref name="shape"/> as a new contiguous tensor.</summary>
    public static Tensor BroadcastTo(Tensor x, int[] shape)
    {
        if (ShapeUtil.SameShape(x.Shape, shape)) return x.ContiguousData();
        var bs = ShapeUtil.Broadcast(x.Shape, shape);
        if (!ShapeUtil.SameShape(bs, shape))
            throw new ArgumentException($"cannot broadcast {ShapeUtil.Format(x.Shape)} to {ShapeUtil.Format(shape)}");
        var dst = new Tensor(shape);
        var src = x.ContiguousData();
        if (src.Size == 1) { dst.Fill(src.Storage[src.Offset]); return dst; }
        // Fast path: x is a suffix of shape ([C] -> [N, C]).
        int r = shape.Length, xr = x.Rank;
        int suffix = 1; bool isSuffix = true;
        for (int i = 0; i < xr; i++)
        {
            if (x.Shape[i] != shape[r - xr + i]) { isSuffix = false; break; }
            suffix *= x.Shape[i];
        }
        if (isSuffix)
        {
            var s = src.Span; var d = dst.Span;
            for (int o = 0; o < dst.Size; o += suffix) s.CopyTo(d.Slice(o, suffix));
            return dst;
        }
        var srcStrides = BroadcastStrides(x.Shape, ShapeUtil.ContiguousStrides(x.Shape), shape);
        var idx = new int[r];
        var ds = dst.Span; var ss = src.Span;
        for (int o = 0; o < dst.Size; o++)
        {
            int si = 0;
            for (int a = 0; a < r; a++) si += idx[a] * srcStrides[a];
            ds[o] = ss[si];
            for (int a = r - 1; a >= 0; a--) { if (++idx[a] < shape[a]) break; idx[a] = 0; }
        }
        return dst;
    }

    /// <summary>Strides of <paramref name="xShape"/> viewed in <paramref name="outShape"/> (0 on broadcast axes).</summary>
    internal static int[] BroadcastStrides(int[] xShape, int[] xStrides, int[] outShape)
    {
        int r = outShape.Length, xr = xShape.Length;
        var s = new int[r];
        for (int i = 0; i < r; i++)
        {
            int xi = i - (r - xr);
            s[i] = xi < 0 || xShape[xi] == 1 ? 0 : xStrides[xi];
        }
        return s;
    }

    /// <summary>Sums <paramref name="grad"/> over broadcast axes so it has <paramref name="shape"/> (no autograd).</summary>
    public static Tensor SumToShape(Tensor grad, int[] shape)
    {
        if (ShapeUtil.SameShape(grad.Shape, shape)) return grad;
        var g = grad.ContiguousData();
        var dst = new Tensor(shape);
        int n = ShapeUtil.Numel(shape);
        if (n == 1) { dst.Storage[0] = TensorPrimitives.Sum(g.Span); return dst; }
        int r = g.Rank, xr = shape.Length;
        bool isSuffix = xr <= r;
        for (int i = 0; i < xr && isSuffix; i++) if (shape[i] != g.Shape[r - xr + i]) isSuffix = false;
        if (isSuffix)
        {
            var gs = g.Span; var d = dst.Span;
            for (int o = 0; o < g.Size; o += n) TensorPrimitives.Add(d, gs.Slice(o, n), d);
            return dst;
        }
        var strides = BroadcastStrides(shape, ShapeUtil.ContiguousStrides(shape), g.Shape);
        var idx = new int[r];
        var s = g.Span; var dd = dst.Span;
        for (int o = 0; o < g.Size; o++)
        {
            int di = 0;
            for (int a = 0; a < r; a++) di += idx[a] * strides[a];
            dd[di] += s[o];
            for (int a = r - 1; a >= 0; a--) { if (++idx[a] < g.Shape[a]) break; idx[a] = 0; }
        }
        return dst;
    }

    private delegate void SpanBinary(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d);
    private delegate void SpanScalar(ReadOnlySpan<float> x, float y, Span<float> d);

    /// <summary>Applies a binary element-wise kernel with broadcasting (no autograd).</summary>
    private static Tensor Binary(Tensor a, Tensor b, SpanBinary op, SpanScalar opScalarRight, SpanScalar? opScalarLeft)
    {
        var outShape = ShapeUtil.Broadcast(a.Shape, b.Shape);
        var res = new Tensor(outShape);
        var ac = a.ContiguousData(); var bc = b.ContiguousData();
        if (ac.Size == res.Size && bc.Size == res.Size) { op(ac.Span, bc.Span, res.Span); return res; }
        if (bc.Size == 1 && ac.Size == res.Size) { opScalarRight(ac.Span, bc.Storage[bc.Offset], res.Span); return res; }
        if (ac.Size == 1 && bc.Size == res.Size && opScalarLeft is not null) { opScalarLeft(bc.Span, ac.Storage[ac.Offset], res.Span); return res; }
        // b is a trailing suffix of a (bias-like): loop over rows.
        if (ac.Size == res.Size && IsTrailing(b.Shape, outShape))
        {
            int n = bc.Size; var asp = ac.Span; var bsp = bc.Span; var d = res.Span;
            for (int o = 0; o < res.Size; o += n) op(asp.Slice(o, n), bsp, d.Slice(o, n));
            return res;
        }
        var ae = ac.Size == res.Size ? ac : BroadcastTo(ac, outShape);
        var be = bc.Size == res.Size ? bc : BroadcastTo(bc, outShape);
        op(ae.Span, be.Span, res.Span);
        return res;
    }

    private static bool IsTrailing(int[] small, int[] full)
    {
        if (small.Length > full.Length) return false;
        int off = full.Length - small.Length;
        for (int i = 0; i < small.Length; i++) if (small[i] != full[off + i]) return false;
        return true;
    }
}

using System.Numerics.Tensors;
using DeepShrink.Core.Autograd;

namespace DeepShrink.Core;

public static partial class Ops
{
    /// <summary>Sum of all elements (scalar).</summary>
    public static Tensor Sum(Tensor x)
    {
        var r = Tensor.Scalar(TensorPrimitives.Sum(x.ContiguousData().Span));
        return Engine.WillRecord(x) ? Engine.Record(r, new LambdaNode("Sum", g => new[] { Tensor.Full(g.Item(), x.Shape) }, x)) : r;
    }

    /// <summary>Mean of all elements (scalar).</summary>
    public static Tensor Mean(Tensor x) => MulScalar(Sum(x), 1f / Math.Max(1, x.Size));

    /// <summary>Sum along one axis.</summary>
    public static Tensor Sum(Tensor x, int axis, bool keepDim = false)
    {
        int ax = ShapeUtil.Axis(axis, x.Rank);
        var (outer, n, inner) = Split(x.Shape, ax);
        var xc = x.ContiguousData(); var xs = xc.Span;
        var kept = (int[])x.Shape.Clone(); kept[ax] = 1;
        var r = new Tensor(kept); var rs = r.Span;
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < n; j++)
                TensorPrimitives.Add(rs.Slice(o * inner, inner), xs.Slice((o * n + j) * inner, inner), rs.Slice(o * inner, inner));
        var res = keepDim ? r : Tensor.View(r, 0, RemoveAxis(x.Shape, ax), ShapeUtil.ContiguousStrides(RemoveAxis(x.Shape, ax)));
        if (!Engine.WillRecord(x)) return res;
        return Engine.Record(res, new LambdaNode("SumAxis", g =>
        {
            var gk = g.ContiguousData();
            return new[] { BroadcastTo(new Tensor(gk.ToArray(), kept), x.Shape) };
        }, x));
    }

    /// <summary>Mean along one axis.</summary>
    public static Tensor Mean(Tensor x, int axis, bool keepDim = false)
        => MulScalar(Sum(x, axis, keepDim), 1f / Math.Max(1, x.Shape[ShapeUtil.Axis(axis, x.Rank)]));

    /// <summary>Maximum along one axis (gradient flows to the first arg-max).</summary>
    public static Tensor Max(Tensor x, int axis, bool keepDim = false)
    {
        int ax = ShapeUtil.Axis(axis, x.Rank);
        var (outer, n, inner) = Split(x.Shape, ax);
        if (n == 0) throw new ArgumentException("Max over an empty axis");
        var xs = x.ContiguousData().Span;
        var kept = (int[])x.Shape.Clone(); kept[ax] = 1;
        var r = new Tensor(kept); var rs = r.Span;
        var arg = new int[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int best = 0; float bv = xs[o * n * inner + i];
                for (int j = 1; j < n; j++) { float v = xs[(o * n + j) * inner + i]; if (v > bv) { bv = v; best = j; } }
                rs[o * inner + i] = bv; arg[o * inner + i] = best;
            }
        var outShape = keepDim ? kept : RemoveAxis(x.Shape, ax);
        var res = new Tensor(r.Storage, outShape);
        if (!Engine.WillRecord(x)) return res;
        return Engine.Record(res, new LambdaNode("MaxAxis", g =>
        {
            var gs = g.ContiguousData().Span;
            var gx = new Tensor(x.Shape); var gxs = gx.Span;
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                    gxs[(o * n + arg[o * inner + i]) * inner + i] = gs[o * inner + i];
            return new[] { gx };
        }, x));
    }

    /// <summary>Index of the maximum along the last axis of a [rows, cols] tensor (not differentiable).</summary>
    public static int[] ArgMaxRows(Tensor x)
    {
        if (x.Rank != 2) throw new ArgumentException($"ArgMaxRows needs a 2-D tensor, got {ShapeUtil.Format(x.Shape)}");
        var xs = x.ContiguousData().Span;
        int rows = x.Shape[0], cols = x.Shape[1];
        var res = new int[rows];
        for (int i = 0; i < rows; i++) res[i] = TensorPrimitives.IndexOfMax(xs.Slice(i * cols, cols));
        return res;
    }

    internal static (int outer, int n, int inner) Split(int[] shape, int ax)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < ax; i++) outer *= shape[i];
        for (int i = ax + 1; i < shape.Length; i++) inner *= shape[i];
        return (outer, shape[ax], inner);
    }

    internal static int[] RemoveAxis(int[] shape, int ax)
    {
        var s = new int[shape.Length - 1];
        for (int i = 0, j = 0; i < shape.Length; i++) if (i != ax) s[j++] = shape[i];
        return s;
    }
}

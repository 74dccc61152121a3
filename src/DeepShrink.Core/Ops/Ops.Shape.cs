using DeepShrink.Core.Autograd;

namespace DeepShrink.Core;

public static partial class Ops
{
    /// <summary>Resolves one -1 in a requested shape against an element count.</summary>
    public static int[] ResolveShape(int[] shape, int size)
    {
        var s = (int[])shape.Clone();
        int neg = -1; long known = 1;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == -1) { if (neg >= 0) throw new ArgumentException("only one -1 allowed in a shape"); neg = i; }
            else if (s[i] < 0) throw new ArgumentException($"invalid dimension {s[i]}");
            else known *= s[i];
        }
        if (neg >= 0)
        {
            if (known == 0 || size % known != 0) throw new ArgumentException($"cannot reshape {size} elements to {ShapeUtil.Format(shape)}");
            s[neg] = (int)(size / known);
        }
        if (ShapeUtil.Numel(s) != size) throw new ArgumentException($"cannot reshape {size} elements to {ShapeUtil.Format(shape)}");
        return s;
    }

    /// <summary>Reshape (a view when the input is contiguous).</summary>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        var s = ResolveShape(shape, x.Size);
        var src = x.ContiguousData();
        var r = Tensor.View(src, src.Offset, s, ShapeUtil.ContiguousStrides(s));
        if (!Engine.WillRecord(x)) return r;
        var inShape = x.Shape;
        return Engine.Record(r, new LambdaNode("Reshape", g => new[] { Reshape2(g, inShape) }, x));
    }

    private static Tensor Reshape2(Tensor g, int[] shape)
    {
        var c = g.ContiguousData();
        return Tensor.View(c, c.Offset, shape, ShapeUtil.ContiguousStrides(shape));
    }

    /// <summary>Flattens all axes from <paramref name="startAxis"/> on into one.</summary>
    public static Tensor Flatten(Tensor x, int startAxis = 1)
    {
        var s = new int[startAxis + 1];
        for (int i = 0; i < startAxis; i++) s[i] = x.Shape[i];
        s[startAxis] = -1;
        if (x.Size == 0) { int p = 1; for (int i = startAxis; i < x.Rank; i++) p *= x.Shape[i]; s[startAxis] = p; }
        return Reshape(x, s);
    }

    /// <summary>Swaps two axes (a strided view).</summary>
    public static Tensor Transpose(Tensor x, int a = 0, int b = 1)
    {
        int ra = ShapeUtil.Axis(a, x.Rank), rb = ShapeUtil.Axis(b, x.Rank);
        var perm = Enumerable.Range(0, x.Rank).ToArray();
        (perm[ra], perm[rb]) = (perm[rb], perm[ra]);
        return Permute(x, perm);
    }

    /// <summary>Reorders axes (a strided view).</summary>
    public static Tensor Permute(Tensor x, params int[] perm)
    {
        if (perm.Length != x.Rank || perm.Distinct().Count() != perm.Length || perm.Any(p => p < 0 || p >= x.Rank))
            throw new ArgumentException($"invalid permutation [{string.Join(", ", perm)}] for rank {x.Rank}");
        var shape = new int[x.Rank]; var strides = new int[x.Rank];
        for (int i = 0; i < perm.Length; i++) { shape[i] = x.Shape[perm[i]]; strides[i] = x.Strides[perm[i]]; }
        var r = Tensor.View(x, x.Offset, shape, strides);
        if (!Engine.WillRecord(x)) return r;
        var inv = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) inv[perm[i]] = i;
        return Engine.Record(r, new LambdaNode("Permute", g => new[] { Permute(g, inv).ContiguousData() }, x));
    }

    /// <summary>Contiguous copy (identity when already contiguous).</summary>
    public static Tensor Contiguous(Tensor x)
    {
        if (x.IsContiguous) return x;
        var r = new Tensor(x.ToArray(), x.Shape);
        return Engine.WillRecord(x) ? Engine.Record(r, new LambdaNode("Contiguous", g => new[] { g }, x)) : r;
    }

    /// <summary>Elements [start, start+length) along an axis (a copy).</summary>
    public static Tensor Narrow(Tensor x, int axis, int start, int length)
    {
        int ax = ShapeUtil.Axis(axis, x.Rank);
        if (start < 0 || length < 0 || start + length > x.Shape[ax])
            throw new ArgumentOutOfRangeException(nameof(start), $"narrow [{start}, {start + length}) out of range for axis size {x.Shape[ax]}");
        var (outer, n, inner) = Split(x.Shape, ax);
        var xs = x.ContiguousData().Span;
        var shape = (int[])x.Shape.Clone(); shape[ax] = length;
        var r = new Tensor(shape); var rs = r.Span;
        for (int o = 0; o < outer; o++)
            xs.Slice((o * n + start) * inner, length * inner).CopyTo(rs.Slice(o * length * inner, length * inner));
        if (!Engine.WillRecord(x)) return r;
        return Engine.Record(r, new LambdaNode("Narrow", g =>
        {
            var gs = g.ContiguousData().Span;
            var gx = new Tensor(x.Shape); var gxs = gx.Span;
            for (int o = 0; o < outer; o++)
                gs.Slice(o * length * inner, length * inner).CopyTo(gxs.Slice((o * n + start) * inner, length * inner));
            return new[] { gx };
        }, x));
    }

    /// <summary>Concatenates tensors along an axis.</summary>
    public static Tensor Concat(int axis, params Tensor[] xs)
    {
        if (xs.Length == 0) throw new ArgumentException("Concat needs at least one tensor");
        int ax = ShapeUtil.Axis(axis, xs[0].Rank);
        var shape = (int[])xs[0].Shape.Clone();
        int total = 0;
        foreach (var t in xs)
        {
            if (t.Rank != shape.Length) throw new ArgumentException("Concat: rank mismatch");
            for (int i = 0; i < shape.Length; i++)
                if (i != ax && t.Shape[i] != shape[i]) throw new ArgumentException($"Concat: shape mismatch {ShapeUtil.Format(t.Shape)} vs {ShapeUtil.Format(shape)}");
            total += t.Shape[ax];
        }
        shape[ax] = total;
        var r = new Tensor(shape); var rs = r.Span;
        var (outer, _, inner) = Split(shape, ax);
        int offs = 0;
        var starts = new int[xs.Length];
        for (int k = 0; k < xs.Length; k++)
        {
            starts[k] = offs;
            int len = xs[k].Shape[ax];
            var s = xs[k].ContiguousData().Span;
            for (int o = 0; o < outer; o++)
                s.Slice(o * len * inner, len * inner).CopyTo(rs.Slice((o * total + offs) * inner, len * inner));
            offs += len;
        }
        if (!Engine.WillRecord(xs)) return r;
        return Engine.Record(r, new LambdaNode("Concat", g =>
        {
            var grads = new Tensor?[xs.Length];
            for (int k = 0; k < xs.Length; k++)
                if (xs[k].RequiresGrad) grads[k] = Narrow(g, ax, starts[k], xs[k].Shape[ax]);
            return grads;
        }, xs));
    }
}

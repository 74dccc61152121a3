using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Onnx.Import;

internal static partial class OnnxConverters
{
    /// <summary>Reshape with a constant target. Its first entry must keep the batch axis: the folded batch size, 0, -1 (when the rest keeps the sample size) or 1 when the file's batch was fixed at 1.</summary>
    private static void Reshape(NodeView n, ImportContext c)
    {
        var target = n.Const(1, "shape").Longs($"{n.Where}: shape");
        bool allowZero = n.Int("allowzero", 0) != 0;
        if (n.IsConst(0))
        {
            var k = n.Const(0, "data");
            c.SetConst(n.Output(), new OnnxConst(ResolveShape(n, target, k.Shape, allowZero), k.Data, k.IsInteger));
            return;
        }
        var x = n.Rt(0);
        if (target.Length < 2) throw n.Fail($"target [{string.Join(", ", target)}] leaves no per-sample axes");
        long t0 = target[0];
        if (target.Skip(1).Contains(long.MinValue)) throw n.Fail("the batch size appears off the first axis of the target shape");
        if (!(t0 == long.MinValue || t0 == 0 && !allowZero || t0 == -1 || t0 == 1 && c.DeclaredBatch == 1))
            throw n.Fail($"target [{string.Join(", ", target)}] changes the batch axis");
        var rest = target[1..].Select((v, i) => v == 0 && !allowZero ? (i < x.Shape.Length ? x.Shape[i] : throw n.Fail($"0 at axis {i + 1} copies an axis the input lacks")) : v).ToArray();
        if (t0 == -1 && rest.Contains(-1)) throw n.Fail("two inferred (-1) dimensions");
        var shape = ResolveShape(n, rest, x.Shape, allowZero);
        EmitReshape(n, c, x, shape);
    }

    private static void Flatten(NodeView n, ImportContext c)
    {
        long axis = n.Int("axis", 1);
        if (n.IsConst(0))
        {
            var k = n.Const(0, "input");
            if (axis < -k.Shape.Length || axis > k.Shape.Length) throw n.Fail($"axis {axis} outside [{-k.Shape.Length}, {k.Shape.Length}]");
            int a = (int)(axis < 0 ? axis + k.Shape.Length : axis);
            int rows = ShapeUtil.Numel(k.Shape.AsSpan(0, a));
            c.SetConst(n.Output(), new OnnxConst([rows, k.Data.Length / Math.Max(rows, 1)], k.Data, k.IsInteger));
            return;
        }
        var x = n.Rt(0);
        if (axis < -x.FullRank || axis > x.FullRank) throw n.Fail($"axis {axis} outside [{-x.FullRank}, {x.FullRank}]");
        int ax = (int)(axis < 0 ? axis + x.FullRank : axis);
        if (ax == 0) throw n.Fail("axis 0 would merge the batch axis into the features");
        if (x.Shape.Take(ax - 1).Any(d => d != 1))
            throw n.Fail($"axis {axis} of {Full(x)} would fold sample axes into the batch axis");
        EmitReshape(n, c, x, [ShapeUtil.Numel(x.Shape)]);
    }

    private static void Squeeze(NodeView n, ImportContext c)
    {
        var axes = n.Opset < 13 ? n.Ints("axes") : n.OptConst(1, "axes")?.Longs($"{n.Where}: axes");
        int[] full = n.IsConst(0) ? n.Const(0, "data").Shape : [-1, .. n.Rt(0).Shape];
        var drop = new HashSet<int>();
        if (axes is null) { for (int i = n.IsConst(0) ? 0 : 1; i < full.Length; i++) if (full[i] == 1) drop.Add(i); }
        else foreach (var a in axes) drop.Add(NormAxis(n, a, full.Length));
        foreach (int a in drop)
            if (full[a] != 1) throw n.Fail(a == 0 && full[0] == -1 ? "cannot squeeze the batch axis" : $"axis {a} has size {full[a]}, not 1");
        var shape = full.Where((_, i) => !drop.Contains(i)).ToArray();
        Relayout(n, c, shape);
    }

    private static void Unsqueeze(NodeView n, ImportContext c)
    {
        var axes = (n.Opset < 13 ? n.Ints("axes") : n.OptConst(1, "axes")?.Longs($"{n.Where}: axes")) ?? throw n.Fail("axes are required");
        int[] full = n.IsConst(0) ? n.Const(0, "data").Shape : [-1, .. n.Rt(0).Shape];
        int rank = full.Length + axes.Length;
        var add = axes.Select(a => NormAxis(n, a, rank)).ToHashSet();
        if (add.Count != axes.Length) throw n.Fail("repeated axes");
        if (add.Contains(0) && !n.IsConst(0)) throw n.Fail("cannot insert an axis before the batch axis");
        var shape = new int[rank];
        for (int i = 0, j = 0; i < rank; i++) shape[i] = add.Contains(i) ? 1 : full[j++];
        Relayout(n, c, shape);
    }

    /// <summary>Transpose: constants are transposed; on the data only a layout no-op (size-1 axes moved, batch first) is accepted.</summary>
    private static void Transpose(NodeView n, ImportContext c)
    {
        int[] full = n.IsConst(0) ? n.Const(0, "data").Shape : [-1, .. n.Rt(0).Shape];
        var perm = n.Ints("perm")?.Select(p => NormAxis(n, p, full.Length)).ToArray() ?? Enumerable.Range(0, full.Length).Reverse().ToArray();
        if (perm.Length != full.Length || perm.Distinct().Count() != perm.Length) throw n.Fail($"perm [{string.Join(", ", perm)}] is not a permutation of {full.Length} axes");
        var shape = perm.Select(p => full[p]).ToArray();
        if (n.IsConst(0))
        {
            var k = n.Const(0, "data");
            var o = new double[k.Data.Length];
            var inStrides = ShapeUtil.ContiguousStrides(full);
            for (int i = 0; i < o.Length; i++)
            {
                int rem = i, src = 0;
                for (int d = shape.Length - 1; d >= 0; d--) { src += rem % shape[d] * inStrides[perm[d]]; rem /= shape[d]; }
                o[i] = k.Data[src];
            }
            c.SetConst(n.Output(), new OnnxConst(shape, o, k.IsInteger));
            return;
        }
        var moved = perm.Where(p => full[p] != 1).ToArray();
        if (perm[0] != 0 || !moved.SequenceEqual(moved.Order()))
            throw n.Fail($"perm [{string.Join(", ", perm)}] on {Full(n.Rt(0))} moves data; only layout no-op transposes are supported");
        EmitReshape(n, c, n.Rt(0), shape[1..]);
    }

    private static void Concat(NodeView n, ImportContext c)
    {
        long axis = n.Int("axis", long.MinValue);
        if (axis == long.MinValue) throw n.Fail("attribute 'axis' is required");
        if (n.InputCount == 0) throw n.Fail("needs at least one input");
        if (Enumerable.Range(0, n.InputCount).All(n.IsConst))
        {
            var ks = Enumerable.Range(0, n.InputCount).Select(i => n.Const(i, "input")).ToArray();
            c.SetConst(n.Output(), ConcatConst(n, ks, NormAxis(n, axis, ks[0].Shape.Length)));
            return;
        }
        var xs = Enumerable.Range(0, n.InputCount).Select(n.Rt).ToArray();
        int a = NormAxis(n, axis, xs[0].FullRank);
        if (a == 0) throw n.Fail("concatenation along the batch axis cannot be imported");
        if (xs.Length == 1) { c.Alias(n.Output(), xs[0]); return; }
        c.Emit(n.Name, "concat", xs, n.Output(), attrs: new Dictionary<string, AttrValue> { ["axis"] = a });
    }

    /// <summary>Pad in constant mode on the last two axes: attributes before opset 11, inputs (pads, value, axes) from 11 on.</summary>
    private static void Pad(NodeView n, ImportContext c)
    {
        string mode = n.Str("mode", "constant");
        if (mode != "constant") throw n.Fail($"mode '{mode}' is not supported (only constant)");
        var x = n.Rt(0);
        int rank = x.FullRank;
        long[] pads;
        double value;
        int[] axes = Enumerable.Range(0, rank).ToArray();
        if (n.Opset < 11)
        {
            pads = n.Ints("pads") ?? throw n.Fail("attribute 'pads' is required");
            value = n.Float("value", 0f);
        }
        else
        {
            pads = n.Const(1, "pads").Longs($"{n.Where}: pads");
            value = Scalar(n, 2, "constant_value") ?? 0;
            if (n.HasInput(3)) axes = n.Const(3, "axes").Longs($"{n.Where}: axes").Select(a => NormAxis(n, a, rank)).ToArray();
        }
        if (pads.Length != 2 * axes.Length) throw n.Fail($"pads has {pads.Length} values, expected {2 * axes.Length}");
        var begin = new long[rank];
        var end = new long[rank];
        for (int i = 0; i < axes.Length; i++) { begin[axes[i]] = pads[i]; end[axes[i]] = pads[i + axes.Length]; }
        if (begin.Concat(end).Any(p => p < 0 || p > 65536)) throw n.Fail($"pads [{string.Join(", ", pads)}] must be in 0..65536 (cropping is not supported)");
        if (rank < 3 || Enumerable.Range(0, rank - 2).Any(d => begin[d] != 0 || end[d] != 0))
            throw n.Fail($"only the last two axes of {Full(x)} can be padded");
        if (begin.Concat(end).All(p => p == 0)) { c.Alias(n.Output(), x); return; }
        var attrs = new Dictionary<string, AttrValue> { ["pads"] = new[] { (int)begin[rank - 2], (int)begin[rank - 1], (int)end[rank - 2], (int)end[rank - 1] } };
        if (value != 0) attrs["value"] = value;
        c.Emit(n.Name, "pad", [x], n.Output(), attrs: attrs);
    }

    private static void Relayout(NodeView n, ImportContext c, int[] shape)
    {
        if (n.IsConst(0)) { var k = n.Const(0, "data"); c.SetConst(n.Output(), new OnnxConst(shape, k.Data, k.IsInteger)); }
        else EmitReshape(n, c, n.Rt(0), shape[1..]);
    }

    private static void EmitReshape(NodeView n, ImportContext c, ImportContext.Value x, int[] sample)
    {
        if (sample.AsSpan().SequenceEqual(x.Shape)) { c.Alias(n.Output(), x); return; }
        if (sample.Length == 0) throw n.Fail($"reshaping {Full(x)} to [N] leaves no per-sample axes");
        c.Emit(n.Name, sample.Length == 1 && x.Shape.Length > 1 ? "flatten" : "reshape", [x], n.Output(),
            attrs: sample.Length == 1 && x.Shape.Length > 1 ? null : new Dictionary<string, AttrValue> { ["shape"] = sample });
    }

    /// <summary>Resolves 0 (copy) and one -1 (infer) against <paramref name="input"/>.</summary>
    private static int[] ResolveShape(NodeView n, long[] target, int[] input, bool allowZero)
    {
        if (target.Contains(long.MinValue)) throw n.Fail("a constant is reshaped with the batch size");
        long total = ShapeUtil.Numel(input), known = 1;
        int infer = -1;
        var o = new int[target.Length];
        for (int i = 0; i < target.Length; i++)
        {
            long v = target[i] == 0 && !allowZero ? (i < input.Length ? input[i] : throw n.Fail($"0 at axis {i} copies an axis the input lacks")) : target[i];
            if (v == -1) { if (infer >= 0) throw n.Fail("two inferred (-1) dimensions"); infer = i; continue; }
            if (v < 1 || v > int.MaxValue) throw n.Fail($"invalid target dimension {v}");
            o[i] = (int)v;
            known *= v;
            if (known > total) break;
        }
        if (infer >= 0)
        {
            if (known == 0 || total % known != 0) throw n.Fail($"{ShapeUtil.Format(input)} cannot take target [{string.Join(", ", target)}]");
            o[infer] = (int)(total / known);
            known *= o[infer];
        }
        if (known != total) throw n.Fail($"{ShapeUtil.Format(input)} has {total} elements, target [{string.Join(", ", target)}] has {known}");
        return o;
    }

    private static int NormAxis(NodeView n, long axis, int rank)
    {
        if (axis < -rank || axis >= rank) throw n.Fail($"axis {axis} outside [{-rank}, {rank - 1}]");
        return (int)(axis < 0 ? axis + rank : axis);
    }
}

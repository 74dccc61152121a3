using DeepShrink.Core;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace DeepShrink.Onnx.Import;

internal static partial class OnnxConverters
{
    /// <summary>Constant: <c>value</c> (a tensor) or, from opset 12, <c>value_float(s)</c> / <c>value_int(s)</c>.</summary>
    private static void Constant(NodeView n, ImportContext c)
    {
        OnnxConst k;
        if (n.TensorAttr("value") is TensorProto t) k = c.Reader.Read(t, n.Where);
        else if (n.Raw("value_float") is not null) k = new OnnxConst([], [n.Float("value_float", 0)], false);
        else if (n.Raw("value_int") is not null) k = new OnnxConst([], [n.Int("value_int", 0)], true);
        else if (n.Floats("value_floats") is float[] fs) k = new OnnxConst([fs.Length], fs.Select(f => (double)f).ToArray(), false);
        else if (n.Ints("value_ints") is long[] ls) k = new OnnxConst([ls.Length], ls.Select(l => (double)l).ToArray(), true);
        else throw n.Fail("only tensor, float and int values are supported (no sparse or string constants)");
        c.SetConst(n.Output(), k);
    }

    /// <summary>Shape: of a constant, its shape; of the data, [batch, sample...] with the batch size kept symbolic.</summary>
    private static void Shape(NodeView n, ImportContext c)
    {
        int[] full = n.IsConst(0) ? n.Const(0, "data").Shape : [-1, .. n.Rt(0).Shape];
        int r = full.Length;
        long start = n.Int("start", 0), end = n.Int("end", r);
        int s = (int)Math.Clamp(start < 0 ? start + r : start, 0, r), e = (int)Math.Clamp(end < 0 ? end + r : end, 0, r);
        var dims = full[s..Math.Max(s, e)].Select(d => d == -1 ? OnnxConst.Batch : d).ToArray();
        c.SetConst(n.Output(), new OnnxConst([dims.Length], dims, true));
    }

    /// <summary>Gather on constants (shape arithmetic as PyTorch exports it).</summary>
    private static void Gather(NodeView n, ImportContext c)
    {
        if (!n.IsConst(0)) throw n.Fail("gathering from the data is not supported (only constant folding)");
        var data = n.Const(0, "data");
        var idx = n.Const(1, "indices").Longs($"{n.Where}: indices");
        if (data.Shape.Length == 0) throw n.Fail("data must have rank >= 1");
        int axis = NormAxis(n, n.Int("axis", 0), data.Shape.Length);
        int len = data.Shape[axis], inner = ShapeUtil.Numel(data.Shape.AsSpan(axis + 1)), outer = ShapeUtil.Numel(data.Shape.AsSpan(0, axis));
        var o = new double[(long)outer * idx.Length * inner > c.Options.MaxTensorElements ? throw n.Fail("result too large") : outer * idx.Length * inner];
        for (int a = 0; a < outer; a++)
            for (int j = 0; j < idx.Length; j++)
            {
                long i = idx[j] < 0 ? idx[j] + len : idx[j];
                if (i < 0 || i >= len) throw n.Fail($"index {idx[j]} outside [{-len}, {len - 1}]");
                Array.Copy(data.Data, (a * len + (int)i) * inner, o, (a * idx.Length + j) * inner, inner);
            }
        var indicesShape = n.Const(1, "indices").Shape;
        c.SetConst(n.Output(), new OnnxConst([.. data.Shape[..axis], .. indicesShape, .. data.Shape[(axis + 1)..]], o, data.IsInteger));
    }

    /// <summary>Cast: constants are converted; on the data only a cast to float32 (a no-op) is accepted.</summary>
    private static void Cast(NodeView n, ImportContext c)
    {
        var to = (DataType)n.Int("to", 0);
        if (!n.IsConst(0))
        {
            if (to != DataType.Float) throw n.Fail($"casting the data to {to} is not supported");
            c.Alias(n.Output(), n.Rt(0));
            return;
        }
        var k = n.Const(0, "input");
        bool integer = to is DataType.Int64 or DataType.Int32 or DataType.Int16 or DataType.Int8 or DataType.Uint8 or DataType.Bool;
        if (!integer && to is not (DataType.Float or DataType.Double or DataType.Float16)) throw n.Fail($"cast to {to} is not supported");
        var o = k.Data.Select(d => d == OnnxConst.Batch ? d : integer ? (to == DataType.Bool ? (d != 0 ? 1 : 0) : Math.Truncate(d)) : (float)d).ToArray();
        c.SetConst(n.Output(), new OnnxConst(k.Shape, o, integer));
    }

    private static OnnxConst ConcatConst(NodeView n, OnnxConst[] ks, int axis)
    {
        var first = ks[0].Shape;
        foreach (var k in ks)
            if (k.Shape.Length != first.Length || Enumerable.Range(0, first.Length).Any(d => d != axis && k.Shape[d] != first[d]))
                throw n.Fail($"constant shapes {string.Join(" and ", ks.Select(q => ShapeUtil.Format(q.Shape)))} differ off axis {axis}");
        int outer = ShapeUtil.Numel(first.AsSpan(0, axis)), inner = ShapeUtil.Numel(first.AsSpan(axis + 1));
        var shape = first.ToArray();
        shape[axis] = ks.Sum(k => k.Shape[axis]);
        var o = new double[ShapeUtil.Numel(shape)];
        int pos = 0;
        for (int a = 0; a < outer; a++)
            foreach (var k in ks)
            {
                int len = k.Shape[axis] * inner;
                Array.Copy(k.Data, a * len, o, pos, len);
                pos += len;
            }
        return new OnnxConst(shape, o, ks.All(k => k.IsInteger));
    }
}

using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Onnx.Import;

internal static partial class OnnxConverters
{
    /// <summary>Gemm: Y = alpha A B' + beta C with A the data ([N, K]), B and C constants; transA must be 0.</summary>
    private static void Gemm(NodeView n, ImportContext c)
    {
        var a = n.Rt(0);
        if (n.Int("transA", 0) != 0) throw n.Fail("transA=1 would transpose the batch axis");
        if (a.Shape.Length != 1) throw n.Fail($"input {Full(a)} must be [N, K]");
        var b = n.Const(1, "B");
        float alpha = n.Float("alpha", 1f), beta = n.Float("beta", 1f);
        var w = LinearWeight(n, b, a.Shape[0], n.Int("transB", 0) != 0, alpha);
        int m = w.Shape[0];
        var p = new Dictionary<string, Tensor> { ["weight"] = w };
        var cc = n.OptConst(2, "C");
        if (cc is not null && beta != 0)
        {
            if (cc.Data.Length != 1 && cc.Data.Length != m || cc.Shape.Length > 2 || cc.Shape.Length == 2 && cc.Shape[0] != 1)
                throw n.Fail($"C of shape {ShapeUtil.Format(cc.Shape)} must broadcast as a per-output bias of {m} values");
            var bias = new float[m];
            for (int i = 0; i < m; i++) bias[i] = beta * (float)cc.Data[cc.Data.Length == 1 ? 0 : i];
            p["bias"] = new Tensor(bias, m);
        }
        c.Emit(n.Name, "linear", [a], n.Output(), p);
    }

    /// <summary>MatMul with the data on the left ([N, K]) and a constant [K, M] on the right: a linear layer without bias.</summary>
    private static void MatMul(NodeView n, ImportContext c)
    {
        var a = n.Rt(0);
        if (a.Shape.Length != 1) throw n.Fail($"only [N, K] x [K, M] is supported, the data is {Full(a)}");
        var b = n.Const(1, "right operand");
        c.Emit(n.Name, "linear", [a], n.Output(), new Dictionary<string, Tensor> { ["weight"] = LinearWeight(n, b, a.Shape[0], false, 1f) });
    }

    /// <summary>The [out, in] weight from B ([in, out], or [out, in] when transposed) times alpha.</summary>
    private static Tensor LinearWeight(NodeView n, OnnxConst b, int k, bool transposed, float alpha)
    {
        if (b.Shape.Length != 2) throw n.Fail($"weight must be 2-D, got {ShapeUtil.Format(b.Shape)}");
        int rows = b.Shape[0], cols = b.Shape[1];
        if ((transposed ? cols : rows) != k) throw n.Fail($"weight {ShapeUtil.Format(b.Shape)} does not take {k} input features");
        int m = transposed ? rows : cols;
        var w = new float[m * k];
        for (int o = 0; o < m; o++)
            for (int i = 0; i < k; i++)
                w[o * k + i] = alpha * (float)b.Data[transposed ? o * k + i : i * m + o];
        return new Tensor(w, m, k);
    }

    /// <summary>
    /// Add/Sub/Mul/Div. Two data operands of equal rank: a two-input node. A constant operand becomes the
    /// parameter 'b' (leading size-1 axes beyond the sample rank dropped); a constant on the left of Sub
    /// becomes mul(-1) then add; on the left of Div it is refused. Two constants are folded.
    /// </summary>
    private static void Binary(NodeView n, ImportContext c, string op)
    {
        if (!n.HasInput(1)) throw n.Fail("needs two inputs");
        if (n.IsConst(0) && n.IsConst(1))
        {
            c.SetConst(n.Output(), Fold(n, n.Const(0, "A"), n.Const(1, "B"), op));
            return;
        }
        if (n.IsConst(0))
        {
            var k = n.Const(0, "A");
            var x = n.Rt(1);
            switch (op)
            {
                case "add" or "mul": EmitConstOp(n, c, n.Name, op, x, k, n.Output()); return;
                case "sub":
                    var neg = c.Emit(c.UniqueName(n.Name + "_neg", "", 0), "mul", [x], null, new Dictionary<string, Tensor> { ["b"] = new Tensor([-1f], 1) });
                    EmitConstOp(n, c, n.Name, "add", neg, k, n.Output());
                    return;
                default: throw n.Fail("a constant divided by the data is not supported");
            }
        }
        var a = n.Rt(0);
        if (n.IsConst(1)) { EmitConstOp(n, c, n.Name, op, a, n.Const(1, "B"), n.Output()); return; }
        var bv = n.Rt(1);
        if (a.FullRank != bv.FullRank) throw n.Fail($"operands {Full(a)} and {Full(bv)} differ in rank; only equal-rank data operands are supported");
        c.Emit(n.Name, op, [a, bv], n.Output());
    }

    /// <summary>Sum: a chain of adds (constants folded first).</summary>
    private static void Sum(NodeView n, ImportContext c)
    {
        if (n.InputCount == 0) throw n.Fail("needs at least one input");
        OnnxConst? k = null;
        var data = new List<ImportContext.Value>();
        for (int i = 0; i < n.InputCount; i++)
        {
            if (n.IsConst(i)) k = k is null ? n.Const(i, "input") : Fold(n, k, n.Const(i, "input"), "add");
            else data.Add(n.Rt(i));
        }
        if (data.Count == 0) { c.SetConst(n.Output(), k!); return; }
        if (data.Count == 1 && k is null) { c.Alias(n.Output(), data[0]); return; }
        var acc = data[0];
        for (int i = 1; i < data.Count; i++)
        {
            if (data[i].FullRank != acc.FullRank) throw n.Fail($"operands {Full(acc)} and {Full(data[i])} differ in rank");
            bool last = i == data.Count - 1 && k is null;
            acc = c.Emit(last ? n.Name : c.UniqueName($"{n.Name}_add{i}", "", 0), "add", [acc, data[i]], last ? n.Output() : null);
        }
        if (k is not null) EmitConstOp(n, c, data.Count == 1 ? n.Name : c.UniqueName(n.Name + "_const", "", 0), "add", acc, k, n.Output());
    }

    private static void EmitConstOp(NodeView n, ImportContext c, string name, string op, ImportContext.Value x, OnnxConst k, string output)
    {
        if (k.HasBatch) throw n.Fail("an operand depends on the batch size");
        var shape = k.Shape.ToList();
        while (shape.Count > x.Shape.Length && shape[0] == 1) shape.RemoveAt(0);
        if (shape.Count > x.Shape.Length) throw n.Fail($"constant {ShapeUtil.Format(k.Shape)} would broadcast over the batch axis of {Full(x)}");
        if (shape.Count == 0) shape.Add(1);
        c.Emit(name, op, [x], output, new Dictionary<string, Tensor> { ["b"] = k.ToTensor([.. shape]) });
    }

    /// <summary>Element-wise arithmetic on two constants with numpy broadcasting.</summary>
    private static OnnxConst Fold(NodeView n, OnnxConst a, OnnxConst b, string op)
    {
        if (a.HasBatch || b.HasBatch) throw n.Fail("arithmetic on the batch size cannot be folded (the graph is per sample)");
        int[] shape;
        try { shape = ShapeUtil.Broadcast(a.Shape, b.Shape); }
        catch (ArgumentException e) { throw n.Fail(e.Message); }
        bool integer = a.IsInteger && b.IsInteger;
        var o = new double[ShapeUtil.Numel(shape)];
        for (int i = 0; i < o.Length; i++)
        {
            double x = a.Data[Index(i, shape, a.Shape)], y = b.Data[Index(i, shape, b.Shape)];
            double r = op switch { "add" => x + y, "sub" => x - y, "mul" => x * y, _ => integer ? Math.Truncate(x / y) : x / y };
            o[i] = integer ? r : (float)r;
        }
        return new OnnxConst(shape, o, integer);
    }

    /// <summary>The flat index into a broadcast operand of shape <paramref name="s"/> for output element <paramref name="i"/>.</summary>
    private static int Index(int i, int[] outShape, int[] s)
    {
        int idx = 0, stride = 1;
        for (int d = outShape.Length - 1, e = s.Length - 1; d >= 0; d--, e--)
        {
            int coord = i % outShape[d];
            i /= outShape[d];
            if (e >= 0)
            {
                if (s[e] != 1) idx += coord * stride;
                stride *= s[e];
            }
        }
        return idx;
    }
}

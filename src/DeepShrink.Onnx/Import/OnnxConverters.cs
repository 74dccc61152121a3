using DeepShrink.Core.Graph;

namespace DeepShrink.Onnx.Import;

/// <summary>
/// Translates ONNX operators into graph nodes (or folds them into constants). One method per
/// operator family; <see cref="Table"/> lists every supported operator.
/// </summary>
internal static partial class OnnxConverters
{
    /// <summary>Supported operators of the default domain and their converters.</summary>
    public static readonly IReadOnlyDictionary<string, Action<NodeView, ImportContext>> Table = new Dictionary<string, Action<NodeView, ImportContext>>(StringComparer.Ordinal)
    {
        ["Conv"] = Conv, ["ConvTranspose"] = ConvTranspose, ["BatchNormalization"] = BatchNorm, ["MaxPool"] = MaxPool, ["AveragePool"] = AveragePool,
        ["GlobalAveragePool"] = GlobalAveragePool, ["Gemm"] = Gemm, ["MatMul"] = MatMul,
        ["Relu"] = (n, c) => Unary(n, c, "relu", null), ["Sigmoid"] = (n, c) => Unary(n, c, "sigmoid", null),
        ["Tanh"] = (n, c) => Unary(n, c, "tanh", null), ["HardSwish"] = (n, c) => Unary(n, c, "hard_swish", null),
        ["LeakyRelu"] = (n, c) => Unary(n, c, "leaky_relu", new() { ["slope"] = n.Float("alpha", 0.01f) }),
        ["HardSigmoid"] = (n, c) => Unary(n, c, "hard_sigmoid", new() { ["alpha"] = n.Float("alpha", 0.2f), ["beta"] = n.Float("beta", 0.5f) }),
        ["Clip"] = Clip, ["Softmax"] = Softmax,
        ["Add"] = (n, c) => Binary(n, c, "add"), ["Sub"] = (n, c) => Binary(n, c, "sub"),
        ["Mul"] = (n, c) => Binary(n, c, "mul"), ["Div"] = (n, c) => Binary(n, c, "div"), ["Sum"] = Sum,
        ["Concat"] = Concat, ["Flatten"] = Flatten, ["Reshape"] = Reshape, ["Squeeze"] = Squeeze, ["Unsqueeze"] = Unsqueeze,
        ["Transpose"] = Transpose, ["Pad"] = Pad, ["Dropout"] = PassThrough, ["Identity"] = PassThrough,
        ["Constant"] = Constant, ["Shape"] = Shape, ["Gather"] = Gather, ["Cast"] = Cast,
    };

    /// <summary>Dropout (inference) and Identity: the output is the input.</summary>
    private static void PassThrough(NodeView n, ImportContext c)
    {
        n.OnlyFirstOutputUsed();
        if (n.IsConst(0)) c.SetConst(n.Output(), n.Const(0, "input"));
        else c.Alias(n.Output(), n.Rt(0));
    }

    private static void Unary(NodeView n, ImportContext c, string op, Dictionary<string, AttrValue>? attrs)
    {
        if (n.IsConst(0)) throw n.Fail("constant input: folding this operator is not supported");
        c.Emit(n.Name, op, [n.Rt(0)], n.Output(), attrs: attrs);
    }

    /// <summary>Clip: bounds are attributes before opset 11 and optional constant inputs from 11 on; +-FLT_MAX means no bound.</summary>
    private static void Clip(NodeView n, ImportContext c)
    {
        double? lo, hi;
        if (n.Opset < 11)
        {
            lo = n.Has("min") ? n.Float("min", 0) : null;
            hi = n.Has("max") ? n.Float("max", 0) : null;
        }
        else
        {
            lo = Scalar(n, 1, "min");
            hi = Scalar(n, 2, "max");
        }
        var attrs = new Dictionary<string, AttrValue>();
        if (lo is double l && l > float.MinValue) attrs["min"] = l;
        if (hi is double h && h < float.MaxValue) attrs["max"] = h;
        if (lo is double a && hi is double b && a > b) throw n.Fail($"min {a} is above max {b}");
        c.Emit(n.Name, "clip", [n.Rt(0)], n.Output(), attrs: attrs);
    }

    private static double? Scalar(NodeView n, int i, string role)
    {
        var k = n.OptConst(i, role);
        if (k is null) return null;
        if (k.Data.Length != 1) throw n.Fail($"{role} must be a scalar, got shape [{string.Join(", ", k.Shape)}]");
        return k.Data[0];
    }

    /// <summary>
    /// Softmax. From opset 13 on it normalises along one axis. Before 13 it flattens the input to 2-D at
    /// <c>axis</c> (default 1) and normalises each row: that equals a one-axis softmax only when at most
    /// one of the axes from <c>axis</c> on is longer than 1, which is what is imported; anything else is refused.
    /// </summary>
    private static void Softmax(NodeView n, ImportContext c)
    {
        var x = n.Rt(0);
        int rank = x.FullRank;
        long axis = n.Int("axis", n.Opset < 13 ? 1 : -1);
        if (axis < -rank || axis >= rank) throw n.Fail($"axis {axis} outside [{-rank}, {rank - 1}]");
        int a = (int)(axis < 0 ? axis + rank : axis);
        if (a == 0) throw n.Fail("softmax over the batch axis cannot be imported (the graph is per sample)");
        if (n.Opset < 13)
        {
            var tail = Enumerable.Range(a, rank - a).Where(d => x.Shape[d - 1] > 1).ToArray();
            if (tail.Length > 1)
                throw n.Fail($"before opset 13 softmax normalises axes {a}..{rank - 1} of {Full(x)} together, which is not a one-axis softmax");
            a = tail.Length == 1 ? tail[0] : rank - 1;
        }
        c.Emit(n.Name, "softmax", [x], n.Output(), attrs: new Dictionary<string, AttrValue> { ["axis"] = a });
    }

    /// <summary>The full shape of a runtime value, batch written as N.</summary>
    private static string Full(ImportContext.Value v) => "[N" + string.Concat(v.Shape.Select(d => ", " + d)) + "]";
}

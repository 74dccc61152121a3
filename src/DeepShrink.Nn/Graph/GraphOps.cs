using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn;

/// <summary>What a graph op implementation sees when a <see cref="GraphModule"/> runs one node.</summary>
/// <param name="Node">The node.</param>
/// <param name="Inputs">Its input tensors (batch first).</param>
/// <param name="Layer">The module holding the node's parameters (null for parameter-free ops).</param>
/// <param name="Training">Training mode of the graph module.</param>
public sealed record GraphOpCall(GraphNode Node, Tensor[] Inputs, Module? Layer, bool Training)
{
    /// <summary>The first input.</summary>
    public Tensor X => Inputs[0];
}

/// <summary>
/// The autograd implementation of every graph op for <see cref="GraphModule"/> (the trainer's side of
/// the op schema registry <see cref="OpSchemas"/>). An op from another assembly registers its
/// implementation with <see cref="Register"/> together with its schema.
/// </summary>
public static class GraphOps
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Func<GraphOpCall, Tensor[]>> s_impl = new(StringComparer.Ordinal);

    static GraphOps()
    {
        static Func<GraphOpCall, Tensor[]> One(Func<GraphOpCall, Tensor> f) => c => [f(c)];
        var layer = One(c => c.Layer!.Call(c.X));
        s_impl["linear"] = layer;
        s_impl["conv2d"] = layer;
        s_impl["conv_transpose2d"] = layer;
        s_impl["batchnorm"] = layer;
        s_impl[StructuredOps.Circulant] = layer;
        s_impl[StructuredOps.SharedConv] = layer;
        s_impl["relu"] = One(c => Ops.Relu(c.X));
        s_impl["leaky_relu"] = One(c => Ops.LeakyRelu(c.X, c.Node.Float("slope", 0.01f)));
        s_impl["tanh"] = One(c => Ops.Tanh(c.X));
        s_impl["sigmoid"] = One(c => Ops.Sigmoid(c.X));
        s_impl["gelu"] = One(c => Ops.Gelu(c.X));
        s_impl["identity"] = One(c => c.X);
        s_impl["clip"] = One(c => Ops.Clamp(c.X, c.Node.Float("min", float.NegativeInfinity), c.Node.Float("max", float.PositiveInfinity)));
        s_impl["hard_sigmoid"] = One(c => HardSigmoid(c.X, c.Node.Float("alpha", 0.2f), c.Node.Float("beta", 0.5f)));
        s_impl["hard_swish"] = One(c => Ops.Mul(c.X, HardSigmoid(c.X, 1f / 6f, 0.5f)));
        s_impl["softmax"] = One(Softmax);
        s_impl["maxpool2d"] = One(c => { var a = PoolAttrs.Of(c.Node); return Ops.MaxPool2d(c.X, (a.KernelH, a.KernelW), (a.StrideH, a.StrideW), (a.PadH, a.PadW)); });
        s_impl["avgpool2d"] = One(AvgPool);
        s_impl["global_avgpool2d"] = One(c => Ops.GlobalAvgPool2d(c.X));
        s_impl["flatten"] = One(c => Ops.Flatten(c.X, c.Node.Int("start_axis", 1)));
        s_impl["reshape"] = One(c => Ops.Reshape(c.X, [c.X.Shape[0], .. OpSchemas.ReshapeTarget(c.Node, c.X.Shape[1..])]));
        s_impl["concat"] = One(c => Ops.Concat(OpSchemas.SampleAxis(c.Node, c.Node.Int("axis", 1), c.X.Rank - 1) + 1, c.Inputs));
        s_impl["add"] = One(c => Ops.Add(c.X, Second(c)));
        s_impl["sub"] = One(c => Ops.Sub(c.X, Second(c)));
        s_impl["mul"] = One(c => Ops.Mul(c.X, Second(c)));
        s_impl["div"] = One(c => Ops.Div(c.X, Second(c)));
        s_impl["pad"] = One(c => { var p = OpSchemas.Pads(c.Node); return Ops.Pad2d(c.X, p[0], p[1], p[2], p[3], c.Node.Float("value", 0f)); });
    }

    /// <summary>Adds the implementation of an op (its schema goes to <see cref="OpSchemas.Register"/>).</summary>
    public static void Register(string op, Func<GraphOpCall, Tensor[]> implementation)
    {
        ArgumentNullException.ThrowIfNull(implementation);
        if (!s_impl.TryAdd(op, implementation)) throw new InvalidOperationException($"graph op '{op}' already has an implementation");
    }

    /// <summary>The implementation of an op; one-line <see cref="FormatException"/> when there is none.</summary>
    public static Func<GraphOpCall, Tensor[]> Get(string op) => s_impl.TryGetValue(op, out var f) ? f
        : throw new FormatException($"op '{op}' cannot be trained or run by the graph module (known: {string.Join(", ", s_impl.Keys.Order(StringComparer.Ordinal))})");

    /// <summary>True when the op has an implementation.</summary>
    public static bool Has(string op) => s_impl.ContainsKey(op);

    private static Tensor HardSigmoid(Tensor x, float alpha, float beta) => Ops.Clamp(Ops.AddScalar(Ops.MulScalar(x, alpha), beta), 0f, 1f);

    private static Tensor Second(GraphOpCall c) => c.Inputs.Length == 2 ? c.Inputs[1] : ((GraphConstant)c.Layer!).Value;

    private static Tensor Softmax(GraphOpCall c)
    {
        int axis = OpSchemas.SampleAxis(c.Node, c.Node.Int("axis", -1), c.X.Rank - 1) + 1;
        if (axis == c.X.Rank - 1) return Ops.Softmax(c.X);
        // move the axis last, softmax, move it back
        var perm = Enumerable.Range(0, c.X.Rank).Where(a => a != axis).Append(axis).ToArray();
        var inv = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) inv[perm[i]] = i;
        return Ops.Permute(Ops.Softmax(Ops.Contiguous(Ops.Permute(c.X, perm))), inv);
    }

    private static Tensor AvgPool(GraphOpCall c)
    {
        var a = PoolAttrs.Of(c.Node);
        return Ops.AvgPool2d(c.X, (a.KernelH, a.KernelW), (a.StrideH, a.StrideW), (a.PadH, a.PadW), a.CountIncludePad);
    }
}

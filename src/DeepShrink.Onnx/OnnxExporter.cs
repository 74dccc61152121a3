using DeepShrink.Core;
using DeepShrink.Core.Graph;
using Google.Protobuf;
using Onnx;
using static DeepShrink.Onnx.OnnxProto;

namespace DeepShrink.Onnx;

/// <summary>
/// Exports a <see cref="ModelGraph"/> with its (decoded, dense float32) tensors as an ONNX model
/// (opset 13) that ONNX Runtime runs: input <c>input</c> [batch, sample...] with a symbolic batch
/// axis, output <c>output</c>, the model's metadata in <c>metadata_props</c>.
/// </summary>
/// <remarks>
/// Op mapping: linear = Gemm (transB); conv2d = Conv; batchnorm = BatchNormalization; relu, leaky_relu,
/// tanh, sigmoid = Relu, LeakyRelu, Tanh, Sigmoid; gelu = its tanh form from Mul/Add/Tanh (no Gelu op
/// before opset 20); maxpool2d = MaxPool; avgpool2d = AveragePool with count_include_pad = 1 (our
/// padding counts as zeros); global_avgpool2d = GlobalAveragePool; flatten = Flatten (start axis 1) or
/// Reshape; add = Add; identity = Identity. Pruned or weight-shared weights are written densely.
/// </remarks>
public static class OnnxExporter
{
    /// <summary>Default ONNX operator set.</summary>
    public const int Opset = 13;

    /// <summary>Graph input name in the exported model.</summary>
    public const string InputName = "input";

    /// <summary>Graph output name in the exported model.</summary>
    public const string OutputName = "output";

    /// <summary>Ops the exporter maps.</summary>
    public static IReadOnlyList<string> SupportedOps { get; } =
        ["linear", "conv2d", "batchnorm", "relu", "leaky_relu", "tanh", "sigmoid", "gelu",
         "maxpool2d", "avgpool2d", "global_avgpool2d", "flatten", "add", "identity"];

    /// <summary>Builds the ONNX model.</summary>
    /// <param name="graph">The model graph.</param>
    /// <param name="tensors">Every tensor the graph names, dense float32.</param>
    /// <param name="metadata">Stored as <c>metadata_props</c> (e.g. deepshrink.normalization, deepshrink.dataset, deepshrink.arch).</param>
    /// <exception cref="NotSupportedException">A node's op has no ONNX mapping.</exception>
    /// <exception cref="InvalidDataException">The graph is invalid or a tensor is missing.</exception>
    public static ModelProto Build(ModelGraph graph, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(tensors);
        try { graph.Validate(); }
        catch (FormatException e) { throw new InvalidDataException(e.Message); }
        foreach (var n in graph.Nodes)
            if (!SupportedOps.Contains(n.Op))
                throw new NotSupportedException($"cannot export node '{n.Name}' to ONNX: op '{n.Op}' has no mapping (supported: {string.Join(", ", SupportedOps)})");

        var g = new GraphProto { Name = "deepshrink" };
        string Rename(string v) => v == graph.Output ? OutputName : v == graph.Input ? InputName : v;
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in graph.Nodes)
            foreach (var role in n.Params.Values)
                if (used.Add(role))
                {
                    if (!tensors.TryGetValue(role, out var t)) throw new InvalidDataException($"tensor '{role}' used by the graph is missing");
                    var c = t.ContiguousData();
                    g.Initializer.Add(FloatTensor(role, c.Shape, c.Span));
                }
        used.UnionWith(graph.Nodes.Select(n => n.Output).Append(graph.Input).Append(InputName).Append(OutputName));
        var ctx = new NodeContext(g, used);
        foreach (var n in graph.Nodes) ctx.Add(n, n.Inputs.Select(Rename).ToArray(), Rename(n.Output));
        if (graph.Input == graph.Output)
            g.Node.Add(Node("Identity", "output_identity", [InputName], OutputName));

        g.Input.Add(FloatValue(InputName, new (long?, string?)[] { (null, "batch") }.Concat(graph.InputShape.Select(d => ((long?)d, (string?)null)))));
        g.Output.Add(FloatValue(OutputName, null));
        var model = new ModelProto
        {
            IrVersion = 7, ProducerName = "deepshrink", ProducerVersion = "1", Graph = g,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (k, v) in (metadata ?? new Dictionary<string, string>()).OrderBy(kv => kv.Key, StringComparer.Ordinal))
            model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    /// <summary>Serialised ONNX bytes.</summary>
    public static byte[] ToBytes(ModelGraph graph, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
        => Build(graph, tensors, metadata).ToByteArray();

    /// <summary>Translates one node (a gelu becomes several).</summary>
    private sealed class NodeContext(GraphProto g, HashSet<string> names)
    {
        private int _fresh;

        public void Add(GraphNode n, string[] inputs, string output)
        {
            var p = n.Params;
            switch (n.Op)
            {
                case "linear":
                    g.Node.Add(Node("Gemm", n.Name, p.ContainsKey("bias") ? [inputs[0], p["weight"], p["bias"]] : [inputs[0], p["weight"]], output, Int("transB", 1)));
                    break;
                case "conv2d":
                    var w = g.Initializer.First(t => t.Name == p["weight"]);
                    if (w.Dims.Count != 4) throw new InvalidDataException($"conv2d '{n.Name}': weight '{p["weight"]}' must be 4-D");
                    int ph = n.Int("pad_h", 0), pw = n.Int("pad_w", 0);
                    g.Node.Add(Node("Conv", n.Name, p.ContainsKey("bias") ? [inputs[0], p["weight"], p["bias"]] : [inputs[0], p["weight"]], output,
                        Ints("dilations", n.Int("dilation_h", 1), n.Int("dilation_w", 1)), Int("group", n.Int("groups", 1)),
                        Ints("kernel_shape", w.Dims[2], w.Dims[3]), Ints("pads", ph, pw, ph, pw),
                        Ints("strides", n.Int("stride_h", 1), n.Int("stride_w", 1))));
                    break;
                case "batchnorm":
                    g.Node.Add(Node("BatchNormalization", n.Name, [inputs[0], p["weight"], p["bias"], p["running_mean"], p["running_var"]], output,
                        Float("epsilon", n.Float("eps", 1e-5f))));
                    break;
                case "relu": g.Node.Add(Node("Relu", n.Name, inputs, output)); break;
                case "leaky_relu": g.Node.Add(Node("LeakyRelu", n.Name, inputs, output, Float("alpha", n.Float("slope", 0.01f)))); break;
                case "tanh": g.Node.Add(Node("Tanh", n.Name, inputs, output)); break;
                case "sigmoid": g.Node.Add(Node("Sigmoid", n.Name, inputs, output)); break;
                case "gelu": Gelu(n.Name, inputs[0], output); break;
                case "maxpool2d" or "avgpool2d":
                    int k = n.Int("kernel", 2), s = n.Int("stride", k), pad = n.Int("pad", 0);
                    var attrs = new List<AttributeProto> { Ints("kernel_shape", k, k), Ints("pads", pad, pad, pad, pad), Ints("strides", s, s) };
                    if (n.Op == "avgpool2d") attrs.Add(Int("count_include_pad", 1));
                    g.Node.Add(Node(n.Op == "maxpool2d" ? "MaxPool" : "AveragePool", n.Name, inputs, output, attrs.ToArray()));
                    break;
                case "global_avgpool2d": g.Node.Add(Node("GlobalAveragePool", n.Name, inputs, output)); break;
                case "flatten":
                    int start = n.Int("start_axis", 1);
                    if (start < 1) throw new InvalidDataException($"flatten '{n.Name}': start_axis {start} must be >= 1");
                    if (start == 1) g.Node.Add(Node("Flatten", n.Name, inputs, output, Int("axis", 1)));
                    else
                    {   // keep [batch, d1 .. d(start-1)] (0 copies the input dimension), merge the rest
                        var shape = Fresh(n.Name + ".shape");
                        g.Initializer.Add(Int64Tensor(shape, [.. Enumerable.Repeat(0L, start), -1L]));
                        g.Node.Add(Node("Reshape", n.Name, [inputs[0], shape], output));
                    }
                    break;
                case "add": g.Node.Add(Node("Add", n.Name, inputs, output)); break;
                default: g.Node.Add(Node("Identity", n.Name, inputs, output)); break;
            }
        }

        /// <summary>0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) from opset-13 primitives.</summary>
        private void Gelu(string name, string x, string output)
        {
            string Const(string tag, float v)
            {
                var c = Fresh($"{name}.{tag}");
                g.Initializer.Add(FloatTensor(c, [], [v]));
                return c;
            }
            string Op(string op, string a, string b)
            {
                var o = Fresh($"{name}.{op.ToLowerInvariant()}");
                g.Node.Add(Node(op, o, [a, b], o));
                return o;
            }
            var x3 = Op("Mul", Op("Mul", x, x), x);
            var inner = Op("Mul", Op("Add", x, Op("Mul", x3, Const("k", 0.044715f))), Const("c", 0.7978845608028654f));
            var th = Fresh($"{name}.tanh");
            g.Node.Add(Node("Tanh", th, [inner], th));
            var half = Op("Mul", x, Const("half", 0.5f));
            g.Node.Add(Node("Mul", name, [half, Op("Add", th, Const("one", 1f))], output));
        }

        private string Fresh(string stem)
        {
            string s;
            do s = $"{stem}_{_fresh++}"; while (!names.Add(s));
            return s;
        }
    }
}

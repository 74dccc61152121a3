using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format.Codecs;
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
/// before opset 20); maxpool2d, avgpool2d = MaxPool, AveragePool (rectangular windows, AveragePool's
/// count_include_pad from the node); global_avgpool2d = GlobalAveragePool; flatten = Flatten (start
/// axis 1) or Reshape; reshape = Reshape to the inferred shape; add, sub, mul, div = Add, Sub, Mul, Div
/// (a constant 'b' is an initializer, right-aligned against [batch, sample...]; a second input of lower
/// rank is reshaped to [batch, 1, ..., shape] first); concat = Concat; pad = Pad (constant, pads as an
/// input); clip = Clip (bounds as inputs); softmax = Softmax; hard_sigmoid = HardSigmoid; hard_swish =
/// x * HardSigmoid(x, 1/6, 1/2) (HardSwish is opset 14); identity = Identity; circulant_linear = Gemm with
/// its explicit [out, in] matrix; shared_conv2d = Conv with its expanded filter bank. Pruned or weight-shared
/// weights are written densely.
/// Input transforms of quantised and binary models (docs/FORMAT-dsz.md) become standard ops in front
/// of the Gemm/Conv: QuantizeLinear + DequantizeLinear (+ Clip for a narrower code range), fixed-point
/// rounding as Mul/Add/Floor/Clip/Mul, binarisation as Add/Mul/Less/Where, XNOR-Net's K as
/// ReduceMean(Abs) (+ AveragePool for convolutions) applied to the output. int8 weights (when given) are
/// int8 initializers behind DequantizeLinear, so quantised models are exported in QDQ form, which ONNX
/// Runtime fuses into integer kernels.
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
        ["linear", "conv2d", "conv_transpose2d", "batchnorm", "relu", "leaky_relu", "tanh", "sigmoid", "gelu",
         "maxpool2d", "avgpool2d", "global_avgpool2d", "flatten", "add", "identity",
         "reshape", "concat", "pad", "clip", "hard_sigmoid", "hard_swish", "softmax", "sub", "mul", "div",
         StructuredOps.Circulant, StructuredOps.SharedConv];

    /// <summary>Builds the ONNX model.</summary>
    /// <param name="graph">The model graph.</param>
    /// <param name="tensors">Every tensor the graph names, dense float32.</param>
    /// <param name="metadata">Stored as <c>metadata_props</c> (e.g. deepshrink.normalization, deepshrink.dataset, deepshrink.arch).</param>
    /// <param name="int8">Tensors stored as int8 codes (by name): written as int8 initializers <c>{name}_quantized</c>
    /// with a DequantizeLinear (per-channel <c>axis</c> when the codes have one scale per channel) whose output is
    /// the float tensor, so together with the activations' QuantizeLinear/DequantizeLinear the model is in QDQ form.</param>
    /// <exception cref="NotSupportedException">A node's op has no ONNX mapping.</exception>
    /// <exception cref="InvalidDataException">The graph is invalid or a tensor is missing.</exception>
    public static ModelProto Build(ModelGraph graph, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null,
        IReadOnlyDictionary<string, Int8Tensor>? int8 = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(tensors);
        try { graph.Validate(); }
        catch (FormatException e) { throw new InvalidDataException(e.Message); }
        foreach (var n in graph.Nodes)
            if (!SupportedOps.Contains(n.Op))
                throw new NotSupportedException($"cannot export node '{n.Name}' to ONNX: op '{n.Op}' has no mapping (supported: {string.Join(", ", SupportedOps)})");

        if (StructuredLowering.Needed(graph, circulant: true))
        {   // circulant_linear = Gemm with its explicit matrix, shared_conv2d = Conv with its expanded filters
            var all = new Dictionary<string, Tensor>(tensors, StringComparer.Ordinal);
            try
            {
                graph = StructuredLowering.Lower(graph, true,
                    name => tensors.TryGetValue(name, out var t) ? t.Shape : null,
                    name => tensors.TryGetValue(name, out var t) ? t.ToArray() : throw new InvalidDataException($"tensor '{name}' used by the graph is missing"),
                    (name, shape, data) => all[name] = new Tensor(data, shape));
            }
            catch (FormatException e) { throw new InvalidDataException(e.Message); }
            tensors = all;
        }
        Dictionary<string, int[]> shapes;
        try { GraphAnalysis.Analyze(graph, name => tensors.TryGetValue(name, out var t) ? t.Shape : null, out shapes); }
        catch (FormatException e) { throw new InvalidDataException(e.Message); }

        var g = new GraphProto { Name = "deepshrink" };
        string Rename(string v) => v == graph.Output ? OutputName : v == graph.Input ? InputName : v;
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in graph.Nodes)
            foreach (var (role, name) in n.Params)
                if (!OnnxNodeWriter.IsTransformParam(role) && used.Add(name))
                {
                    if (!tensors.TryGetValue(name, out var t)) throw new InvalidDataException($"tensor '{name}' used by the graph is missing");
                    var c = t.ContiguousData();
                    if (int8 is not null && int8.TryGetValue(name, out var q)) Dequantized(g, name, c.Shape, q);
                    else g.Initializer.Add(FloatTensor(name, c.Shape, c.Span));
                }
        used.UnionWith(graph.Nodes.Select(n => n.Output).Append(graph.Input).Append(InputName).Append(OutputName));
        var ctx = new OnnxNodeWriter(g, used, tensors, shapes);
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

    /// <summary><c>name</c> = DequantizeLinear(int8 codes, scales, zero points[, axis]): the codec's decode, <c>scale * (q - zp)</c>.</summary>
    private static void Dequantized(GraphProto g, string name, int[] shape, Int8Tensor q)
    {
        if (!q.Shape.SequenceEqual(shape)) throw new InvalidDataException($"int8 tensor '{name}' has shape [{string.Join(", ", q.Shape)}], expected [{string.Join(", ", shape)}]");
        int[] side = q.Axis is null ? [] : [q.Scales.Length];
        var codes = name + "_quantized";
        g.Initializer.Add(ByteTensor(codes, TensorProto.Types.DataType.Int8, shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(q.Q)));
        g.Initializer.Add(FloatTensor(name + "_scale", side, q.Scales));
        g.Initializer.Add(ByteTensor(name + "_zero_point", TensorProto.Types.DataType.Int8, side, System.Runtime.InteropServices.MemoryMarshal.AsBytes(q.ZeroPoints)));
        g.Node.Add(q.Axis is int axis
            ? Node("DequantizeLinear", name + "_dequantize", [codes, name + "_scale", name + "_zero_point"], name, Int("axis", axis))
            : Node("DequantizeLinear", name + "_dequantize", [codes, name + "_scale", name + "_zero_point"], name));
    }

    /// <summary>Serialised ONNX bytes.</summary>
    public static byte[] ToBytes(ModelGraph graph, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
        => Build(graph, tensors, metadata).ToByteArray();
}

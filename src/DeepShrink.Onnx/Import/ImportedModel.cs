using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Onnx.Import;

/// <summary>Facts about the ONNX file an <see cref="ImportedModel"/> came from.</summary>
/// <param name="Opset">Opset of the default ONNX domain.</param>
/// <param name="IrVersion">The file's IR version.</param>
/// <param name="Producer">Producer name and version (e.g. <c>CNTK 2.6</c>), possibly empty.</param>
/// <param name="InputName">Name of the data input in the ONNX file.</param>
/// <param name="OutputName">Name of the output in the ONNX file.</param>
/// <param name="OnnxInputShape">The declared input shape, batch first (-1 for a symbolic dimension).</param>
/// <param name="OnnxOps">Operator types of the file with their counts, in first-seen order.</param>
public sealed record OnnxModelInfo(int Opset, long IrVersion, string Producer, string InputName, string OutputName,
    IReadOnlyList<long> OnnxInputShape, IReadOnlyList<KeyValuePair<string, int>> OnnxOps);

/// <summary>
/// An ONNX model as a DeepShrink graph: a per-sample <see cref="ModelGraph"/> (the batch axis is
/// dynamic) and its float32 parameters, named <c>{node}.{role}</c>.
/// </summary>
/// <param name="Graph">The graph (validated, shapes inferred by the op schemas).</param>
/// <param name="Tensors">Parameter tensors by name.</param>
/// <param name="Info">Facts about the source file.</param>
public sealed record ImportedModel(ModelGraph Graph, IReadOnlyDictionary<string, Tensor> Tensors, OnnxModelInfo Info)
{
    /// <summary>Shape of a parameter tensor by name, or null (the lookup <see cref="GraphAnalysis"/> takes).</summary>
    public int[]? ParamShape(string name) => Tensors.TryGetValue(name, out var t) ? t.Shape : null;

    /// <summary>Number of parameter values.</summary>
    public long ParameterCount => Tensors.Values.Sum(t => (long)t.Size);
}

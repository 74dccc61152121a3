namespace DeepShrink.Runtime;

/// <summary>How the runtime runs one weight layer (fully connected or convolution).</summary>
/// <param name="Name">Graph node name.</param>
/// <param name="Op"><c>linear</c> or <c>conv2d</c>.</param>
/// <param name="Codec">Codec of the stored weight tensor.</param>
/// <param name="Kernel">Storage kind chosen (<c>dense</c>, <c>sparse-codebook</c>, <c>sparse-f32</c>, <c>lowrank</c>).</param>
/// <param name="Rows">Rows of the weight matrix (outputs).</param>
/// <param name="Cols">Columns of the weight matrix (inputs, or C/groups kh kw).</param>
/// <param name="MacsPerColumn">Multiply-adds per product column with the chosen storage (nonzeros when sparse).</param>
/// <param name="WeightBytes">Bytes the chosen storage occupies.</param>
/// <param name="MeasuredMicros">Load-time cost per sample of every candidate, by kind (empty when nothing was timed).</param>
public sealed record LayerReport(string Name, string Op, string Codec, string Kernel, int Rows, int Cols,
    long MacsPerColumn, long WeightBytes, IReadOnlyDictionary<string, double> MeasuredMicros);

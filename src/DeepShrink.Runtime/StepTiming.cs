namespace DeepShrink.Runtime;

/// <summary>Time of one executed step of a loaded model (see <see cref="InferenceModel.Profile"/>).</summary>
/// <param name="Name">Graph node name of the step (after fusion: the producing node).</param>
/// <param name="Op">Graph op of the step.</param>
/// <param name="Detail">How the step runs (e.g. fused ReLU, the conv path), for reading profiles.</param>
/// <param name="MedianMicros">Median over the profiled calls, microseconds.</param>
public sealed record StepTiming(string Name, string Op, string Detail, double MedianMicros);

using DeepShrink.Nn;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Batch-1 latency of models in the deployment runtime on this machine, for latency targets
/// (<c>target: {latency: F}</c>). The CLI measures DeepShrink's own runtime; a library caller supplies its own.
/// </summary>
public interface ILatencyMeter
{
    /// <summary>
    /// Times both models interleaved (same input, same threads, alternating rounds) and returns their milliseconds per
    /// batch-1 inference and the candidate / baseline ratio as the median of the per-round ratios (a load change
    /// during the measurement cancels out of it).
    /// </summary>
    LatencyComparison Compare(GraphModule baseline, GraphModule candidate);
}

/// <summary>Milliseconds per batch-1 inference of two models and the candidate / baseline ratio (median of paired rounds).</summary>
public readonly record struct LatencyComparison(double BaselineMs, double CandidateMs, double Ratio);

/// <summary>The one error of a latency target without a meter.</summary>
public static class LatencyMeters
{
    /// <summary>Recipe component <paramref name="component"/> targets latency but the job has no <see cref="ILatencyMeter"/>.</summary>
    public static InvalidOperationException Missing(string component) => new(
        $"recipe component '{component}': target latency needs a latency meter (the deepshrink CLI times its runtime; library callers set CompressionJob.Latency)");
}

using DeepShrink.Bench;
using DeepShrink.Compression.Pipeline;
using DeepShrink.Core;
using DeepShrink.Nn;
using DeepShrink.Runtime;

namespace DeepShrink.Cli.Infrastructure;

/// <summary>
/// Latency targets measured where the model will run: both models are loaded into DeepShrink's runtime as dense
/// models (batch norm folded, convolutions packed, as `bench compare` runs a .safetensors file) and timed at batch 1
/// on one seeded input, interleaved round by round (<see cref="ModelTiming.Rounds"/>), on the threads of the run
/// (<c>--threads</c>).
/// </summary>
public sealed class RuntimeLatencyMeter(double seconds = 1.0, int rounds = 7) : ILatencyMeter
{
    /// <inheritdoc/>
    public LatencyComparison Compare(GraphModule baseline, GraphModule candidate)
    {
        var options = new RuntimeOptions { Threads = Parallelism.Degree };
        var a = InferenceModel.LoadDense(baseline.ToGraph(), baseline.StateDict(), null, options);
        var b = InferenceModel.LoadDense(candidate.ToGraph(), candidate.StateDict(), null, options);
        if (a.InputSize != b.InputSize)
            throw new InvalidOperationException($"latency: the models take different inputs ({a.InputSize} and {b.InputSize} values)");
        var input = Tensor.Uniform(new Rng(7), -1f, 1f, a.InputSize).Storage;
        float[] ya = new float[a.OutputSize], yb = new float[b.OutputSize];
        var t = ModelTiming.Rounds([() => a.Run(input, 1, ya), () => b.Run(input, 1, yb)], seconds, rounds);
        var s = ModelTiming.Summaries(t);
        return new LatencyComparison(s[0].Median / 1000, s[1].Median / 1000, ModelTiming.PairedRatio(t[1], t[0]));
    }
}

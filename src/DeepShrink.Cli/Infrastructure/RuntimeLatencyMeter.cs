using System.Runtime.InteropServices;
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
/// <remarks>
/// A latency search compares many candidates with one baseline: the baseline's loaded runtime model is kept and reused
/// while the same module comes back with the same graph and the same weights (a fingerprint of its state), so it is
/// packed and its kernels chosen once per search instead of once per candidate.
/// </remarks>
public sealed class RuntimeLatencyMeter(double seconds = 1.0, int rounds = 7) : ILatencyMeter
{
    private GraphModule? _baseline;
    private (string Graph, int State) _baselineKey;
    private InferenceModel? _baselineModel;
    private int _threads;

    /// <summary>Times the baseline was loaded into the runtime (a search reuses it while it does not change).</summary>
    public int BaselineLoads { get; private set; }

    /// <inheritdoc/>
    public LatencyComparison Compare(GraphModule baseline, GraphModule candidate)
    {
        var options = new RuntimeOptions { Threads = Parallelism.Degree };
        var a = Baseline(baseline, options);
        var b = InferenceModel.LoadDense(candidate.ToGraph(), candidate.StateDict(), null, options);
        if (a.InputSize != b.InputSize)
            throw new InvalidOperationException($"latency: the models take different inputs ({a.InputSize} and {b.InputSize} values)");
        var input = Tensor.Uniform(new Rng(7), -1f, 1f, a.InputSize).Storage;
        float[] ya = new float[a.OutputSize], yb = new float[b.OutputSize];
        var t = ModelTiming.Rounds([() => a.Run(input, 1, ya), () => b.Run(input, 1, yb)], seconds, rounds);
        var s = ModelTiming.Summaries(t);
        return new LatencyComparison(s[0].Median / 1000, s[1].Median / 1000, ModelTiming.PairedRatio(t[1], t[0]));
    }

    private InferenceModel Baseline(GraphModule baseline, RuntimeOptions options)
    {
        var graph = baseline.ToGraph();
        var state = baseline.StateDict();
        var key = (graph.ToJson(), Fingerprint(state));
        if (_baselineModel is not null && ReferenceEquals(_baseline, baseline) && _baselineKey == key && _threads == options.Threads)
            return _baselineModel;
        _baselineModel = InferenceModel.LoadDense(graph, state, null, options);
        _baseline = baseline;
        _baselineKey = key;
        _threads = options.Threads;
        BaselineLoads++;
        return _baselineModel;
    }

    /// <summary>A hash of every tensor's name, shape and values (this process only).</summary>
    private static int Fingerprint(IReadOnlyDictionary<string, Tensor> state)
    {
        var h = new HashCode();
        foreach (var (name, t) in state.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            h.Add(name);
            foreach (int d in t.Shape) h.Add(d);
            h.AddBytes(MemoryMarshal.AsBytes(t.ContiguousData().Span));
        }
        return h.ToHashCode();
    }
}

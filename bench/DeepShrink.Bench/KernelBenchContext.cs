namespace DeepShrink.Bench;

/// <summary>Metrics collected by one <see cref="KernelBenchmarks.Run"/>, plus measurement helpers.</summary>
public sealed class KernelBenchContext
{
    private readonly Dictionary<string, object> _metrics = new();
    private readonly List<string> _notes = [];

    public KernelBenchContext(KernelBenchOptions options)
    {
        options.Validate();
        Options = options;
    }

    /// <summary>The options of this run.</summary>
    public KernelBenchOptions Options { get; }

    /// <summary>Metrics in insertion order.</summary>
    public IReadOnlyDictionary<string, object> Metrics => _metrics;

    /// <summary>Free-text notes (e.g. why a comparison was skipped).</summary>
    public IReadOnlyList<string> Notes => _notes;

    /// <summary>Records (or replaces) a metric.</summary>
    public void Set(string key, object value) => _metrics[key] = value;

    /// <summary>Adds a note.</summary>
    public void Note(string text) => _notes.Add(text);

    /// <summary>Reads a numeric metric recorded earlier.</summary>
    public bool TryGet(string key, out double value)
    {
        if (_metrics.TryGetValue(key, out var o) && o is double d) { value = d; return true; }
        value = 0;
        return false;
    }

    /// <summary>
    /// Times <paramref name="op"/> with this run's warm-up and repeat settings; a
    /// <paramref name="singleThread"/> operation (all work on the calling thread) is timed on
    /// <see cref="KernelBenchOptions.SingleThreadClock"/>, others on wall time.
    /// </summary>
    public BenchStats Measure(Action op, bool singleThread) =>
        BenchStats.Measure(op, Options.Repeats, Options.WarmupSeconds, Options.MinRepeatSeconds,
            singleThread ? Options.SingleThreadClock : BenchClock.Wall);

    /// <summary>Records <c>key</c> = GFLOP/s at the median and <c>key_spread</c> = (max - min) / median; returns the GFLOP/s.</summary>
    public double SetGflops(string key, double flops, BenchStats stats)
    {
        double g = stats.Gflops(flops);
        Set(key, Math.Round(g, 2));
        Set(key + "_spread", Math.Round(stats.Spread, 3));
        return g;
    }

    /// <summary>Records <c>key</c> = numerator / denominator (when the denominator is positive).</summary>
    public void SetRatio(string key, double numerator, double denominator)
    {
        if (denominator > 0) Set(key, Math.Round(numerator / denominator, 3));
    }
}

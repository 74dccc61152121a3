using DeepShrink.Core;

namespace DeepShrink.Bench;

/// <summary>Settings of <see cref="KernelBenchmarks.Run"/>.</summary>
public sealed record KernelBenchOptions
{
    /// <summary>Threads for the multi-threaded ("_mt" and LeNet) measurements; default <see cref="Parallelism.Degree"/>.</summary>
    public int Threads { get; init; } = Parallelism.Degree;

    /// <summary>Timed repeats per measurement (the median is reported).</summary>
    public int Repeats { get; init; } = 7;

    /// <summary>Warm-up time per measurement, seconds.</summary>
    public double WarmupSeconds { get; init; } = 0.2;

    /// <summary>Small operations are batched so that one repeat lasts at least this long, seconds.</summary>
    public double MinRepeatSeconds { get; init; } = 0.02;

    /// <summary>
    /// Clock for single-thread ("_1t") measurements. Thread CPU time (default) discounts time the
    /// benchmark thread spent pre-empted on a busy machine; multi-threaded ones always use wall time.
    /// </summary>
    public BenchClock SingleThreadClock { get; init; } = BenchClock.ThreadCpu;

    /// <summary>Compare against OpenBLAS when the library can be loaded.</summary>
    public bool CompareOpenBlas { get; init; } = true;

    /// <summary>Extra sections run after <see cref="KernelBenchmarks.BuiltInSections"/> (e.g. conv, int8 or xnor GEMM).</summary>
    public IReadOnlyList<IKernelBenchSection> AdditionalSections { get; init; } = [];

    /// <summary>
    /// When not empty, only the sections whose <see cref="IKernelBenchSection.Name"/> contains one of these
    /// words (case-insensitive) run, e.g. ["circulant"] to rerun one section quickly.
    /// </summary>
    public IReadOnlyList<string> Only { get; init; } = [];

    /// <summary>True when <paramref name="section"/> passes the <see cref="Only"/> filter.</summary>
    public bool Selects(IKernelBenchSection section) =>
        Only.Count == 0 || Only.Any(w => section.Name.Contains(w, StringComparison.OrdinalIgnoreCase));

    /// <summary>Throws when a setting is out of range.</summary>
    public void Validate()
    {
        if (Threads < 1) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "threads must be >= 1");
        if (Repeats < 1) throw new ArgumentOutOfRangeException(nameof(Repeats), Repeats, "repeats must be >= 1");
        if (WarmupSeconds < 0 || MinRepeatSeconds < 0) throw new ArgumentOutOfRangeException(nameof(WarmupSeconds), "times must be >= 0");
    }
}

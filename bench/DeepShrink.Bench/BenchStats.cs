using System.Diagnostics;

namespace DeepShrink.Bench;

/// <summary>Seconds per operation over repeated timed runs: median, extremes and relative spread.</summary>
/// <param name="Median">Median seconds per operation.</param>
/// <param name="Min">Fastest repeat, seconds per operation.</param>
/// <param name="Max">Slowest repeat, seconds per operation.</param>
/// <param name="Repeats">Number of timed repeats.</param>
/// <param name="OpsPerRepeat">Operations timed together in one repeat (small kernels are batched).</param>
public sealed record BenchStats(double Median, double Min, double Max, int Repeats, int OpsPerRepeat)
{
    /// <summary>(max - min) / median: the relative spread of the repeats.</summary>
    public double Spread => Median > 0 ? (Max - Min) / Median : 0;

    /// <summary>Rate in GFLOP/s at the median time for an operation of <paramref name="flops"/> flops.</summary>
    public double Gflops(double flops) => flops / Median * 1e-9;

    /// <summary>
    /// Times <paramref name="op"/>: runs it until <paramref name="warmupSeconds"/> have passed (at
    /// least twice, which also JIT-compiles it fully), batches calls so one repeat lasts about
    /// <paramref name="minRepeatSeconds"/>, then times <paramref name="repeats"/> repeats on <paramref name="clock"/>.
    /// </summary>
    public static BenchStats Measure(Action op, int repeats = 7, double warmupSeconds = 0.2, double minRepeatSeconds = 0.02,
        BenchClock clock = BenchClock.Wall)
    {
        ArgumentNullException.ThrowIfNull(op);
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats), "at least one repeat");
        var sw = Stopwatch.StartNew();
        int calls = 0;
        double fastest = double.MaxValue;
        while (calls < 2 || sw.Elapsed.TotalSeconds < warmupSeconds)
        {
            double t0 = BenchClocks.Now(clock);
            op();
            fastest = Math.Min(fastest, BenchClocks.Now(clock) - t0);
            calls++;
        }
        int batch = (int)Math.Clamp(Math.Ceiling(minRepeatSeconds / Math.Max(fastest, 1e-9)), 1, 1_000_000);
        var times = new double[repeats];
        for (int r = 0; r < repeats; r++)
        {
            double t0 = BenchClocks.Now(clock);
            for (int i = 0; i < batch; i++) op();
            times[r] = (BenchClocks.Now(clock) - t0) / batch;
        }
        Array.Sort(times);
        double median = repeats % 2 == 1 ? times[repeats / 2] : 0.5 * (times[repeats / 2 - 1] + times[repeats / 2]);
        return new BenchStats(median, times[0], times[^1], repeats, batch);
    }
}

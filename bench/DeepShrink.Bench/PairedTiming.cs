namespace DeepShrink.Bench;

/// <summary>
/// Times two operations in alternating repeats (A B A B ...) so that both see the same machine load,
/// and reports each one's median seconds and the median of the per-repeat time ratios A / B.
/// </summary>
/// <param name="MedianA">Median seconds per call of A.</param>
/// <param name="MedianB">Median seconds per call of B.</param>
/// <param name="RatioAOverB">Median over repeats of time(A) / time(B): how many times faster B is.</param>
/// <param name="RatioSpread">(max - min) / median of the per-repeat ratios.</param>
public sealed record PairedTiming(double MedianA, double MedianB, double RatioAOverB, double RatioSpread)
{
    /// <summary>Warms both operations up, then runs <paramref name="repeats"/> alternating timed repeats on <paramref name="clock"/>.</summary>
    public static PairedTiming Measure(Action a, Action b, int repeats, double warmupSeconds, double minRepeatSeconds, BenchClock clock)
    {
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats), "at least one repeat");
        int callsA = CallsPerRepeat(a, warmupSeconds, minRepeatSeconds, clock);
        int callsB = CallsPerRepeat(b, warmupSeconds, minRepeatSeconds, clock);
        var ta = new double[repeats]; var tb = new double[repeats]; var ratio = new double[repeats];
        for (int r = 0; r < repeats; r++)
        {
            ta[r] = Time(a, callsA, clock);
            tb[r] = Time(b, callsB, clock);
            ratio[r] = ta[r] / Math.Max(tb[r], 1e-12);
        }
        double rm = Median(ratio);
        return new PairedTiming(Median(ta), Median(tb), rm, rm > 0 ? (ratio.Max() - ratio.Min()) / rm : 0);
    }

    private static int CallsPerRepeat(Action op, double warmupSeconds, double minRepeatSeconds, BenchClock clock)
    {
        double start = BenchClocks.Now(BenchClock.Wall), fastest = double.MaxValue;
        for (int calls = 0; calls < 2 || BenchClocks.Now(BenchClock.Wall) - start < warmupSeconds; calls++)
            fastest = Math.Min(fastest, Time(op, 1, clock));
        return (int)Math.Clamp(Math.Ceiling(minRepeatSeconds / Math.Max(fastest, 1e-9)), 1, 1_000_000);
    }

    private static double Time(Action op, int calls, BenchClock clock)
    {
        double t0 = BenchClocks.Now(clock);
        for (int i = 0; i < calls; i++) op();
        return (BenchClocks.Now(clock) - t0) / calls;
    }

    private static double Median(double[] v)
    {
        var s = (double[])v.Clone();
        Array.Sort(s);
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }
}

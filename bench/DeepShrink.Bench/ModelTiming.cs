using System.Diagnostics;

namespace DeepShrink.Bench;

/// <summary>Microseconds per call of one engine: median over rounds, fastest and slowest round.</summary>
/// <param name="Median">Median microseconds per call.</param>
/// <param name="Min">Fastest round.</param>
/// <param name="Max">Slowest round.</param>
public sealed record ModelTime(double Median, double Min, double Max)
{
    /// <summary>(max - min) / median.</summary>
    public double Spread => Median > 0 ? (Max - Min) / Median : 0;
}

/// <summary>
/// Times several engines on a shared, noisy machine fairly: after a warm-up, rounds run every engine
/// in turn (each for about the same wall time, calls batched), so a slow patch hits all of them;
/// the result per engine is the median over rounds.
/// </summary>
public static class ModelTiming
{
    /// <summary>Times each action; <paramref name="seconds"/> is the total measuring budget per action.</summary>
    public static ModelTime[] Interleaved(IReadOnlyList<Action> ops, double seconds, int rounds = 9) =>
        Summaries(Rounds(ops, seconds, rounds));

    /// <summary>Median, fastest and slowest round of each action's per-round times.</summary>
    public static ModelTime[] Summaries(double[][] rounds) => rounds.Select(t =>
    {
        var s = t.ToArray();
        Array.Sort(s);
        return new ModelTime(s[s.Length / 2], s[0], s[^1]);
    }).ToArray();

    /// <summary>
    /// Median over rounds of the paired ratio <c>a[r] / b[r]</c> of two actions timed back to back in the same round:
    /// a load change between rounds cancels out, which a ratio of medians does not do.
    /// </summary>
    public static double PairedRatio(double[] a, double[] b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var r = a.Zip(b, (x, y) => x / y).Order().ToArray();
        return r.Length % 2 == 1 ? r[r.Length / 2] : 0.5 * (r[r.Length / 2 - 1] + r[r.Length / 2]);
    }

    /// <summary>Most untimed calls <see cref="Settle"/> makes before a block.</summary>
    public const int MaxSettleCalls = 6;

    /// <summary>A call within this factor of the action's fastest warm-up call ends <see cref="Settle"/>.</summary>
    public const double SettleFactor = 1.25;

    /// <summary>
    /// Untimed calls of <paramref name="op"/> until one runs within <see cref="SettleFactor"/> of its fastest warm-up
    /// call (<paramref name="fastestSeconds"/>), at most <see cref="MaxSettleCalls"/>: the alternation itself leaves a
    /// transient that is no property of either engine's back-to-back latency. Measured on ResNet18 at batch 1, 2 threads
    /// (`/work/exp/scal`, 2026-12-07): right after an ONNX Runtime block our first 2-3 calls took 14-20 ms against 8.8 ms
    /// (its intra-op workers still spinning, and ours, parked for its sake, woken onto the caller's core), and even
    /// after a 50-100 ms pause the first 1-3 calls took 9.5-16 ms; one untimed call had left the rest in the timed block.
    /// </summary>
    public static void Settle(Action op, double fastestSeconds)
    {
        ArgumentNullException.ThrowIfNull(op);
        for (int u = 0; u < MaxSettleCalls; u++)
        {
            long t0 = Stopwatch.GetTimestamp();
            op();
            if (Stopwatch.GetElapsedTime(t0).TotalSeconds <= SettleFactor * fastestSeconds) return;
        }
    }

    /// <summary>
    /// Microseconds per call of each action in each round ([action][round]), after a warm-up; actions alternate within a
    /// round, in the given order in even rounds and reversed in odd ones, and each action's block starts with untimed
    /// calls until the action runs at its warm-up speed again (<see cref="Settle"/>). An action leaves state that the next one pays for (worker threads still spinning: ONNX Runtime keeps one
    /// pool per session; caches holding other weights): in a fixed order that cost lands on the same action every round
    /// (measured on ResNet18 with the same file as baseline and candidate: our baseline ~1 ms of 9 slower than our
    /// candidate, ONNX Runtime's candidate ~0.7 ms slower than its baseline), and alternating the order spreads it over
    /// the actions evenly.
    /// </summary>
    public static double[][] Rounds(IReadOnlyList<Action> ops, double seconds, int rounds = 9)
    {
        ArgumentNullException.ThrowIfNull(ops);
        if (rounds < 1) throw new ArgumentOutOfRangeException(nameof(rounds), "at least one round");
        var calls = new int[ops.Count];
        var fastestCall = new double[ops.Count];
        for (int i = 0; i < ops.Count; i++)
        {   // warm-up (JIT tiers, caches, pools) and a first estimate of one call
            var sw = Stopwatch.StartNew();
            int n = 0;
            double fastest = double.MaxValue;
            while (n < 3 || sw.Elapsed.TotalSeconds < Math.Min(0.3, seconds / 2))
            {
                long t0 = Stopwatch.GetTimestamp();
                ops[i]();
                fastest = Math.Min(fastest, Stopwatch.GetElapsedTime(t0).TotalSeconds);
                n++;
            }
            calls[i] = (int)Math.Clamp(seconds / rounds / Math.Max(fastest, 1e-7), 1, 1_000_000);
            fastestCall[i] = fastest;
        }
        var per = new double[ops.Count][];
        for (int i = 0; i < ops.Count; i++) per[i] = new double[rounds];
        for (int r = 0; r < rounds; r++)
            for (int slot = 0; slot < ops.Count; slot++)
            {
                int i = r % 2 == 0 ? slot : ops.Count - 1 - slot;
                Settle(ops[i], fastestCall[i]);
                long t0 = Stopwatch.GetTimestamp();
                for (int c = 0; c < calls[i]; c++) ops[i]();
                per[i][r] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds / calls[i];
            }
        return per;
    }
}

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
    public static ModelTime[] Interleaved(IReadOnlyList<Action> ops, double seconds, int rounds = 9)
    {
        ArgumentNullException.ThrowIfNull(ops);
        if (rounds < 1) throw new ArgumentOutOfRangeException(nameof(rounds), "at least one round");
        var calls = new int[ops.Count];
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
        }
        var per = new double[ops.Count][];
        for (int i = 0; i < ops.Count; i++) per[i] = new double[rounds];
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < ops.Count; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int c = 0; c < calls[i]; c++) ops[i]();
                per[i][r] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds / calls[i];
            }
        return per.Select(t =>
        {
            Array.Sort(t);
            return new ModelTime(t[t.Length / 2], t[0], t[^1]);
        }).ToArray();
    }
}

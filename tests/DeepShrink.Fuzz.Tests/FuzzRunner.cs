using System.Diagnostics;
using DeepShrink.Core;

namespace DeepShrink.Fuzz.Tests;

/// <summary>What a fuzz run found.</summary>
/// <param name="Mutants">Mutants read.</param>
/// <param name="Accepted">Mutants the reader accepted (read without error).</param>
/// <param name="Rejected">Mutants rejected with a documented exception and a one-line message.</param>
/// <param name="Findings">Crashes, hangs, multi-line messages and large allocations, one line each.</param>
/// <param name="MaxAllocated">Largest allocation of one read, in bytes.</param>
/// <param name="AllocationBound">The bound each read's allocation was held to (for the largest mutant).</param>
/// <param name="SlowestMs">Slowest read in milliseconds.</param>
internal sealed record FuzzReport(int Mutants, int Accepted, int Rejected, List<string> Findings, long MaxAllocated, long AllocationBound, double SlowestMs)
{
    public override string ToString() =>
        $"{Mutants} mutants: {Accepted} accepted, {Rejected} rejected cleanly, {Findings.Count} findings; " +
        $"max allocation {MaxAllocated / 1024} KiB (bound there {AllocationBound / 1024} KiB), slowest {SlowestMs:F0} ms";
}

/// <summary>
/// Runs mutants of a <see cref="FuzzTarget"/> on one worker thread, watched for hangs, and classifies
/// each read: accepted, rejected with a documented one-line exception, or a finding (another exception
/// type, a multi-line message, a read slower than <see cref="SlowMs"/>, an allocation above the bound,
/// or no progress for <see cref="HangMs"/>). Findings are saved as files under the findings directory.
/// </summary>
internal static class FuzzRunner
{
    /// <summary>A single read slower than this is a finding.</summary>
    public const double SlowMs = 5_000;

    /// <summary>No progress for this long is a hang (the run stops).</summary>
    public const int HangMs = 30_000;

    /// <summary>Mutants per reader: $DEEPSHRINK_FUZZ_MUTANTS, else <paramref name="fast"/>.</summary>
    public static int MutantCount(int fast) =>
        int.TryParse(Environment.GetEnvironmentVariable("DEEPSHRINK_FUZZ_MUTANTS"), out int n) && n > 0 ? n : fast;

    /// <summary>The run's seed: $DEEPSHRINK_FUZZ_SEED, else 17.</summary>
    public static ulong Seed => ulong.TryParse(Environment.GetEnvironmentVariable("DEEPSHRINK_FUZZ_SEED"), out ulong s) ? s : 17;

    /// <summary>Where findings are saved: $DEEPSHRINK_FUZZ_FINDINGS, else a temp folder.</summary>
    public static string FindingsDirectory =>
        Environment.GetEnvironmentVariable("DEEPSHRINK_FUZZ_FINDINGS") is { Length: > 0 } d ? d : Path.Combine(Path.GetTempPath(), "deepshrink-fuzz-findings");

    /// <summary>
    /// Allocation bound of one read: 4x what the largest seed needs, plus 64 bytes per input byte and 16 MiB
    /// (headroom for mutants that legitimately decode a little more, never what a header merely claims).
    /// </summary>
    public static long Bound(long seedAllocation, int inputBytes) => 4 * seedAllocation + 64L * inputBytes + (16L << 20);

    public static FuzzReport Run(FuzzTarget target, int mutants, ulong seed)
    {
        var findings = new List<string>();
        int accepted = 0, rejected = 0, progress = -1;
        long maxAlloc = 0, boundAtMax = 0;
        double slowest = 0;
        long seedAlloc = 0;
        byte[]? current = null;
        Exception? harness = null;

        var worker = new Thread(() =>
        {
            try
            {
                foreach (var s in target.Seeds) seedAlloc = Math.Max(seedAlloc, Measure(target, s).Allocated); // also warms up
                var rng = new Rng(seed);
                for (int i = 0; i < mutants; i++)
                {
                    var mutant = target.Mutate(target.Seeds[i % target.Seeds.Count], rng);
                    Volatile.Write(ref current, mutant);
                    var (error, allocated, ms) = Measure(target, mutant);
                    long bound = Bound(seedAlloc, mutant.Length);
                    if (allocated > maxAlloc) { maxAlloc = allocated; boundAtMax = bound; }
                    slowest = Math.Max(slowest, ms);
                    string? finding = Classify(target, error);
                    if (finding is null && allocated > bound) finding = $"allocated {allocated} bytes, bound {bound}";
                    if (finding is null && ms > SlowMs) finding = $"took {ms:F0} ms";
                    if (finding is not null) findings.Add(Save(target, i, mutant, finding));
                    else if (error is null) accepted++;
                    else rejected++;
                    Volatile.Write(ref progress, i);
                }
            }
            catch (Exception e) { harness = e; }
        }, 64 << 20) { IsBackground = true, Name = $"fuzz {target.Name}" };
        worker.Start();
        int seen = -2;
        while (!worker.Join(HangMs))
        {
            int now = Volatile.Read(ref progress);
            if (now == seen)
            {
                findings.Add(Save(target, now + 1, Volatile.Read(ref current) ?? [], $"hang: no progress for {HangMs} ms"));
                return new FuzzReport(now + 1, accepted, rejected, findings, maxAlloc, boundAtMax, slowest);
            }
            seen = now;
        }
        if (harness is not null) throw new InvalidOperationException($"fuzz harness failed: {harness}", harness);
        return new FuzzReport(mutants, accepted, rejected, findings, maxAlloc, boundAtMax, slowest);
    }

    /// <summary>Reads one file: the exception it threw (or null), the bytes this thread allocated, and the time.</summary>
    public static (Exception? Error, long Allocated, double Ms) Measure(FuzzTarget target, byte[] input)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        long t0 = Stopwatch.GetTimestamp();
        Exception? error = null;
        try { target.Read(input); }
        catch (Exception e) { error = e; }
        return (error, GC.GetAllocatedBytesForCurrentThread() - before, Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
    }

    /// <summary>Null when <paramref name="error"/> is acceptable (none, or documented with a one-line message), else the problem.</summary>
    public static string? Classify(FuzzTarget target, Exception? error)
    {
        if (error is null) return null;
        if (!target.Documented.Any(t => t.IsInstanceOfType(error)))
            return $"crash: {error.GetType().Name}: {OneLine(error.Message)} at {TopFrame(error)}";
        if (error.Message.Contains('\n') || error.Message.Contains('\r')) return $"multi-line message: {OneLine(error.Message)}";
        return null;
    }

    private static string Save(FuzzTarget target, int index, byte[] mutant, string finding)
    {
        string dir = Path.Combine(FindingsDirectory, target.Name);
        Directory.CreateDirectory(dir);
        string file = Path.Combine(dir, $"mutant-{Seed}-{index}.bin");
        File.WriteAllBytes(file, mutant);
        return $"{target.Name} mutant {index} ({file}): {finding}";
    }

    private static string TopFrame(Exception e) =>
        new StackTrace(e, false).GetFrames().FirstOrDefault(f => f.GetMethod()?.DeclaringType?.Namespace?.StartsWith("DeepShrink", StringComparison.Ordinal) == true)?.GetMethod() is { } m
            ? $"{m.DeclaringType?.Name}.{m.Name}" : "?";

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}

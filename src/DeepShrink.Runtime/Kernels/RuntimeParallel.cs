using DeepShrink.Core;

namespace DeepShrink.Runtime.Kernels;

/// <summary>
/// Splits a range of independent items over threads in fixed contiguous blocks (so results never
/// depend on the thread count). The calling thread works too and takes any block no helper has
/// started yet, so a helper that the OS schedules late (a busy machine) delays nothing.
/// </summary>
internal static class RuntimeParallel
{
    /// <summary>Multiply-adds below which a product runs on one thread (handing work to another thread costs microseconds).</summary>
    public const long MinWorkPerThread = 1L << 17;

    /// <summary>Blocks per thread: small enough blocks let the caller absorb a late helper's share.</summary>
    private const int BlocksPerThread = 4;

    /// <summary>Threads worth using for <paramref name="work"/> multiply-adds over <paramref name="items"/> items.</summary>
    public static int Useful(long work, int items, int threads) =>
        (int)Math.Max(1, Math.Min(Math.Min(threads, items), work / MinWorkPerThread));

    /// <summary>Runs <paramref name="body"/>(start, end) over <c>[0, count)</c> on up to <paramref name="threads"/> threads.</summary>
    public static void For(int count, int threads, Action<int, int> body)
    {
        if (threads <= 1 || count <= 1)
        {
            body(0, count);
            return;
        }
        WorkerPool.RunRanges(count, Math.Min(count, threads * BlocksPerThread), threads, body);
    }
}

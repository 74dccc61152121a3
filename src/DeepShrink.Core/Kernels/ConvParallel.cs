namespace DeepShrink.Core.Kernels;

/// <summary>
/// Splits independent work items over threads. Each item is processed by exactly one thread with
/// the same code, so results never depend on the thread count.
/// </summary>
internal static class ConvParallel
{
    /// <summary>Below this many (estimated) element operations a loop runs on the calling thread.</summary>
    private const long MinParallelWork = 1 << 15;

    /// <summary>Ranges per thread: the pool hands ranges out one at a time, so with several per thread a thread that the OS
    /// (or a neighbour on a shared host) holds back for a while leaves its share to the others instead of making every
    /// region wait for it; one range per thread had left 2-thread runs 1.5-1.9x their 1-thread speed, varying run to run.</summary>
    public const int RangesPerThread = 4;

    /// <summary>Ranges to cut <paramref name="count"/> items into for <paramref name="threads"/> threads.</summary>
    public static int Parts(int count, int threads) => Math.Max(1, Math.Min(count, threads * RangesPerThread));

    /// <summary>Thread count to use: <paramref name="threads"/> or <see cref="Parallelism.Degree"/> when not positive.</summary>
    public static int Resolve(int threads) => threads > 0 ? threads : Parallelism.Degree;

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over contiguous ranges covering [0, count), using at
    /// most <paramref name="threads"/> threads; tiny loops (count * workPerItem small) run inline.
    /// </summary>
    public static void For(int count, int threads, long workPerItem, Action<int, int> body)
    {
        if (count <= 0) return;
        int t = Math.Min(Resolve(threads), count);
        if (t <= 1 || count * Math.Max(1, workPerItem) < MinParallelWork) { body(0, count); return; }
        WorkerPool.RunRanges(count, Parts(count, t), t, body);
    }

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over [0, <paramref name="n"/>) cut into fixed blocks of
    /// <paramref name="blockElements"/> (the cut does not depend on the thread count), shared out over threads.
    /// </summary>
    public static void ForBlocks(int n, int blockElements, int threads, Action<int, int> body)
    {
        int blocks = (n + blockElements - 1) / blockElements;
        For(blocks, threads, blockElements, (b0, b1) => body(b0 * blockElements, Math.Min(n, b1 * blockElements)));
    }
}

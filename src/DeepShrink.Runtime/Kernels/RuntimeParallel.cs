namespace DeepShrink.Runtime.Kernels;

/// <summary>Splits a range of independent items over threads (contiguous blocks, so results never depend on the thread count).</summary>
internal static class RuntimeParallel
{
    /// <summary>Multiply-adds below which a product runs on one thread (thread start-up costs microseconds).</summary>
    public const long MinWorkPerThread = 1L << 16;

    /// <summary>Threads worth using for <paramref name="work"/> multiply-adds over <paramref name="items"/> items.</summary>
    public static int Useful(long work, int items, int threads) =>
        (int)Math.Max(1, Math.Min(Math.Min(threads, items), work / MinWorkPerThread));

    /// <summary>Runs <paramref name="body"/>(start, end) over <c>[0, count)</c> cut into <paramref name="threads"/> blocks.</summary>
    public static void For(int count, int threads, Action<int, int> body)
    {
        if (threads <= 1 || count <= 1)
        {
            body(0, count);
            return;
        }
        int parts = Math.Min(threads, count);
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts },
            p => body((int)((long)count * p / parts), (int)((long)count * (p + 1) / parts)));
    }
}

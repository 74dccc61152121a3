namespace DeepShrink.Core.Kernels;

/// <summary>Runs independent work items of the quantized and binary kernels on up to <c>threads</c> threads.</summary>
internal static class QuantParallel
{
    /// <summary>Resolves a user thread argument: 0 or less means <see cref="Parallelism.Degree"/>.</summary>
    public static int Resolve(int threads) => threads <= 0 ? Parallelism.Degree : threads;

    /// <summary>
    /// Threads worth using for <paramref name="work"/> units when each thread should get at least
    /// <paramref name="minWorkPerThread"/> (handing work to a pool thread costs microseconds, which a small
    /// product does not recover: the int8 GEMM of LeNet-300-100's fc1 at batch 64 took 64 us on 2 threads, 47 us on 1).
    /// </summary>
    public static int Useful(long work, int threads, long minWorkPerThread) =>
        (int)Math.Max(1, Math.Min(threads, work / Math.Max(1, minWorkPerThread)));

    /// <summary>Calls <paramref name="body"/> for every item in [0, count); items must not depend on each other.</summary>
    public static void For(int count, int threads, Action<int> body)
    {
        if (threads <= 1 || count <= 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        WorkerPool.Run(count, threads, body);
    }

    /// <summary>
    /// Splits rows [0, m) into blocks of <paramref name="rowBlock"/> and column panels [0, panels) into chunks
    /// (about <paramref name="itemsPerThread"/> work items per thread) and calls body(firstRow, rowCount, firstPanel,
    /// endPanel) for each pair. Kernels that pack their row block per item (int8) ask for fewer, larger items.
    /// </summary>
    public static void ForBlocks(int m, int rowBlock, int panels, int threads, Action<int, int, int, int> body, int itemsPerThread = 4)
    {
        int rowBlocks = (m + rowBlock - 1) / rowBlock;
        int chunks = threads <= 1 || panels <= 1 ? 1 : Math.Clamp((itemsPerThread * threads + rowBlocks - 1) / rowBlocks, 1, panels);
        int perChunk = (panels + chunks - 1) / chunks;
        chunks = (panels + perChunk - 1) / perChunk;
        For(rowBlocks * chunks, threads, item =>
        {
            int i0 = item / chunks * rowBlock, p0 = item % chunks * perChunk;
            body(i0, Math.Min(rowBlock, m - i0), p0, Math.Min(panels, p0 + perChunk));
        });
    }
}

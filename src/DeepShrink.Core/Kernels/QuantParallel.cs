namespace DeepShrink.Core.Kernels;

/// <summary>Runs independent work items of the quantized and binary kernels on up to <c>threads</c> threads.</summary>
internal static class QuantParallel
{
    /// <summary>Resolves a user thread argument: 0 or less means <see cref="Parallelism.Degree"/>.</summary>
    public static int Resolve(int threads) => threads <= 0 ? Parallelism.Degree : threads;

    /// <summary>Calls <paramref name="body"/> for every item in [0, count); items must not depend on each other.</summary>
    public static void For(int count, int threads, Action<int> body)
    {
        if (threads <= 1 || count <= 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
    }

    /// <summary>Splits <paramref name="total"/> units into chunks so that there are about <c>4 * threads</c> work items overall.</summary>
    public static int ChunkCount(int total, int otherItems, int threads)
    {
        if (threads <= 1 || total <= 1) return 1;
        int want = (4 * threads + otherItems - 1) / Math.Max(1, otherItems);
        return Math.Clamp(want, 1, total);
    }
}

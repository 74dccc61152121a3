namespace DeepShrink.Runtime.Kernels;

/// <summary>Out-of-place matrix transpose in cache-sized tiles.</summary>
internal static class Transpose
{
    private const int Tile = 16;

    /// <summary>dst[c, r] = src[r, c].</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst) // src: [rows, cols], dst: [cols, rows]
    {
        if (src.Length < (long)rows * cols || dst.Length < (long)rows * cols)
            throw new ArgumentException($"transpose of [{rows}, {cols}] needs {(long)rows * cols} elements in both buffers");
        fixed (float* ps = src, pd = dst)
        {
            for (int r0 = 0; r0 < rows; r0 += Tile)
            {
                int r1 = Math.Min(rows, r0 + Tile);
                for (int c0 = 0; c0 < cols; c0 += Tile)
                {
                    int c1 = Math.Min(cols, c0 + Tile);
                    for (int c = c0; c < c1; c++)
                    {
                        float* d = pd + (long)c * rows, s = ps + c;
                        for (int r = r0; r < r1; r++) d[r] = s[(long)r * cols];
                    }
                }
            }
        }
    }

    /// <summary>
    /// <see cref="IWeightMatrix.MultiplyColumns"/> for storages whose kernel works on rows: transposes
    /// x [Cols, n] to [n, Cols], runs <see cref="IWeightMatrix.MultiplyRows"/>, transposes the result back.
    /// </summary>
    public static void ColumnsViaRows(IWeightMatrix w, ReadOnlySpan<float> x, int n, Span<float> y, int threads) // x: [Cols, n], y: [Rows, n]
    {
        MatrixChecks.Columns(w, x.Length, n, y.Length, threads);
        float[] xt = System.Buffers.ArrayPool<float>.Shared.Rent(Math.Max(1, w.Cols * n));
        float[] yt = System.Buffers.ArrayPool<float>.Shared.Rent(Math.Max(1, w.Rows * n));
        try
        {
            Run(x, w.Cols, n, xt);                                // [n, Cols]
            w.MultiplyRows(xt.AsSpan(0, w.Cols * n), n, yt, threads); // [n, Rows]
            Run(yt, n, w.Rows, y);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(xt);
            System.Buffers.ArrayPool<float>.Shared.Return(yt);
        }
    }
}

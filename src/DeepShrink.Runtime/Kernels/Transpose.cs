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
}

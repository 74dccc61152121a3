using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Packing routine of the blocked SGEMM: copies a sliver of op(A) (MR rows) or op(B) (NR columns)
/// into k-major order, zero-padded to the full tile width, so the micro-kernel reads it contiguously.
/// </summary>
internal static unsafe class GemmPack
{
    /// <summary>
    /// Packs <paramref name="count"/> tile lines starting at <paramref name="t0"/> over the depth range
    /// [p0, p0 + kc) into <paramref name="dst"/>[kc, width]: dst[p * width + t] = X(t0 + t, p0 + p),
    /// zero for t &gt;= count. When <paramref name="depthMajor"/> the source stores X(t, p) at
    /// src[p * ld + t] (a transposed A, a non-transposed B: one contiguous run per p); otherwise at
    /// src[t * ld + p] (a non-transposed A, a transposed B: the block is transposed).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(bool depthMajor, float* src, nint ld, int t0, int count, int p0, int kc, int width, float* dst)
    {
        if (depthMajor)
        {
            for (int p = 0; p < kc; p++) CopyPadded(src + (p0 + p) * ld + t0, count, dst + p * width, width);
            return;
        }
        GemmTranspose.Run(src + t0 * ld + p0, ld, count, kc, dst, width);
        if (count < width)
            for (int p = 0; p < kc; p++) new Span<float>(dst + p * width + count, width - count).Clear();
    }

    /// <summary>Register tile (MR rows, NR columns) of the micro-kernel of a SIMD level.</summary>
    public static (int Mr, int Nr) Tile(SimdLevel level) => level switch
    {
        SimdLevel.Vector512 => (GemmKernel512.MR, GemmKernel512.NR),
        SimdLevel.Vector256Fma => (GemmKernel256.MR, GemmKernel256.NR),
        _ => (GemmKernelScalar.MR, GemmKernelScalar.NR),
    };

    /// <summary>Depth block length for a reduction of <paramref name="k"/>: the even cut into blocks of at most KcMax that the SGEMM uses.</summary>
    public static int DepthBlock(int k)
    {
        int blocks = (k + GemmBlocked<GemmKernelScalar>.KcMax - 1) / GemmBlocked<GemmKernelScalar>.KcMax;
        return (k + blocks - 1) / blocks;
    }

    /// <summary>
    /// Packs row-major <paramref name="src"/> [rows, k] into slivers of <paramref name="width"/> rows per depth block of
    /// <paramref name="kc"/>: <c>block(p0)[s width kc' + p width + r] = src[s width + r, p0 + p]</c> (kc' the block's
    /// length, block p0 at <c>p0 rowsPadded</c>, rows zero-padded to a whole sliver): the k-major layout of an A sliver,
    /// or of a B sliver of a transposed operand.
    /// </summary>
    public static float[] RowSlivers(ReadOnlySpan<float> src, int rows, int k, int width, int kc)
    {
        int padded = (rows + width - 1) / width * width;
        var dst = new float[(long)padded * k];
        fixed (float* ps = src, pd = dst)
            for (int p0 = 0; p0 < k; p0 += kc)
            {
                int len = Math.Min(kc, k - p0);
                for (int r = 0; r < rows; r += width)
                    Pack(false, ps, k, r, Math.Min(width, rows - r), p0, len, width, pd + (long)p0 * padded + (long)r * len);
            }
        return dst;
    }

    /// <summary>dst[0..count) = src[0..count), dst[count..width) = 0; inline vector copies for the usual full widths.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPadded(float* src, int count, float* dst, int width)
    {
        if (count == width && Vector256.IsHardwareAccelerated && (width & 7) == 0)
        {
            for (int j = 0; j < width; j += 8) Vector256.Store(Vector256.Load(src + j), dst + j);
            return;
        }
        int i = 0;
        for (; i < count; i++) dst[i] = src[i];
        for (; i < width; i++) dst[i] = 0f;
    }
}

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

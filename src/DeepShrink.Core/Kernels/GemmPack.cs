using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Packing routines of the blocked SGEMM: copy a block of op(A) or op(B) into k-major slivers of
/// MR rows / NR columns, padded with zeros, so the micro-kernel reads both operands contiguously.
/// </summary>
internal static unsafe class GemmPack
{
    /// <summary>
    /// Packs one MR-row sliver of op(A): rows [i0, i0 + rows) and columns [p0, p0 + kc) into
    /// <paramref name="dst"/>[kc, mr] (k-major); rows beyond <paramref name="rows"/> are zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(bool transA, float* a, nint lda, int i0, int rows, int p0, int kc, int mr, float* dst)
    {
        if (transA)
        {   // A stored [k, m]: one contiguous run of `rows` floats per p.
            for (int p = 0; p < kc; p++) CopyPadded(a + (p0 + p) * lda + i0, rows, dst + p * mr, mr);
            return;
        }
        // A stored [m, k]: transpose the rows x kc block into k-major order, then zero the padding rows.
        GemmTranspose.Run(a + i0 * lda + p0, lda, rows, kc, dst, mr);
        if (rows < mr)
            for (int p = 0; p < kc; p++) new Span<float>(dst + p * mr + rows, mr - rows).Clear();
    }

    /// <summary>
    /// Packs one NR-column sliver of op(B): rows [p0, p0 + kc) and columns [j0, j0 + cols) into
    /// <paramref name="dst"/>[kc, nr] (k-major); columns beyond <paramref name="cols"/> are zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(bool transB, float* b, nint ldb, int p0, int kc, int j0, int cols, int nr, float* dst)
    {
        if (!transB)
        {   // B stored [k, n]: one contiguous run of `cols` floats per p.
            for (int p = 0; p < kc; p++) CopyPadded(b + (p0 + p) * ldb + j0, cols, dst + p * nr, nr);
            return;
        }
        // B stored [n, k]: transpose the cols x kc block into k-major order, then zero the padding columns.
        GemmTranspose.Run(b + j0 * ldb + p0, ldb, cols, kc, dst, nr);
        if (cols < nr)
            for (int p = 0; p < kc; p++) new Span<float>(dst + p * nr + cols, nr - cols).Clear();
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

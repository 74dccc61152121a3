using System.Runtime.CompilerServices;

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
            for (int p = 0; p < kc; p++)
            {
                float* src = a + (p0 + p) * lda + i0;
                float* d = dst + p * mr;
                int r = 0;
                for (; r < rows; r++) d[r] = src[r];
                for (; r < mr; r++) d[r] = 0f;
            }
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
            for (int p = 0; p < kc; p++)
            {
                float* src = b + (p0 + p) * ldb + j0;
                float* d = dst + p * nr;
                if (cols == nr) { new ReadOnlySpan<float>(src, nr).CopyTo(new Span<float>(d, nr)); continue; }
                int j = 0;
                for (; j < cols; j++) d[j] = src[j];
                for (; j < nr; j++) d[j] = 0f;
            }
            return;
        }
        // B stored [n, k]: transpose the cols x kc block into k-major order, then zero the padding columns.
        GemmTranspose.Run(b + j0 * ldb + p0, ldb, cols, kc, dst, nr);
        if (cols < nr)
            for (int p = 0; p < kc; p++) new Span<float>(dst + p * nr + cols, nr - cols).Clear();
    }
}

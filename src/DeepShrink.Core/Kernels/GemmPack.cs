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
        // A stored [m, k]: `rows` sequential streams, written interleaved.
        float** rowPtr = stackalloc float*[mr];
        for (int r = 0; r < rows; r++) rowPtr[r] = a + (i0 + r) * lda + p0;
        if (rows == mr)
        {
            for (int p = 0; p < kc; p++)
            {
                float* d = dst + p * mr;
                for (int r = 0; r < mr; r++) d[r] = rowPtr[r][p];
            }
            return;
        }
        for (int p = 0; p < kc; p++)
        {
            float* d = dst + p * mr;
            int r = 0;
            for (; r < rows; r++) d[r] = rowPtr[r][p];
            for (; r < mr; r++) d[r] = 0f;
        }
    }

    /// <summary>
    /// Packs one NR-column sliver of op(B): rows [p0, p0 + kc) and columns [j0, j0 + cols) into
    /// <paramref name="dst"/>[kc, nr] (k-major); columns beyond <paramref name="cols"/> are zero.
    /// </summary>
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
        // B stored [n, k]: `cols` sequential streams, written interleaved.
        float** colPtr = stackalloc float*[nr];
        for (int j = 0; j < cols; j++) colPtr[j] = b + (j0 + j) * ldb + p0;
        for (int p = 0; p < kc; p++)
        {
            float* d = dst + p * nr;
            int j = 0;
            for (; j < cols; j++) d[j] = colPtr[j][p];
            for (; j < nr; j++) d[j] = 0f;
        }
    }
}

namespace DeepShrink.Core.Kernels;

/// <summary>Scalar specification of <see cref="Int8Gemm"/>: C[i, j] = sum_p A[i, p] * W[j, p] in int32 (no packing).</summary>
public static class Int8GemmReference
{
    /// <summary>Reference u8 x s8 -> s32 product; C is overwritten.</summary>
    public static void Multiply(int m, int n, int k,
        ReadOnlySpan<byte> a, int lda,  // [m, k]
        ReadOnlySpan<sbyte> w, int ldw, // [n, k]
        Span<int> c, int ldc)           // [m, n]
    {
        Int8Gemm.ValidateSizes(m, n, k);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                int s = 0;
                for (int p = 0; p < k; p++) s += a[i * lda + p] * w[j * ldw + p];
                c[i * ldc + j] = s;
            }
    }
}

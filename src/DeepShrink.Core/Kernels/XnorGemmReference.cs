namespace DeepShrink.Core.Kernels;

/// <summary>Scalar specification of <see cref="XnorGemm"/>: bit by bit, C[i, j] = sum_p s(A[i, p]) * s(W[j, p]) with s(1) = +1, s(0) = -1.</summary>
public static class XnorGemmReference
{
    /// <summary>Reference binary dot products over the first k bits of each packed row (padding bits ignored).</summary>
    public static void Multiply(int m, int n, int k,
        ReadOnlySpan<ulong> a, int lda, // [m, words] packed rows, lda >= WordsFor(k)
        ReadOnlySpan<ulong> w, int ldw, // [n, words]
        Span<int> c, int ldc)           // [m, n]
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                int dot = 0;
                for (int p = 0; p < k; p++)
                {
                    ulong ba = a[i * lda + (p >> 6)] >> (p & 63) & 1, bw = w[j * ldw + (p >> 6)] >> (p & 63) & 1;
                    dot += ba == bw ? 1 : -1;
                }
                c[i * ldc + j] = dot;
            }
    }
}

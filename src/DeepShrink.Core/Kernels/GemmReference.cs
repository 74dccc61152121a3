namespace DeepShrink.Core.Kernels;

/// <summary>
/// Scalar reference SGEMM: the specification that every optimised path is tested against.
/// C = alpha * op(A) * op(B) + beta * C, row-major, op(X) = X or X^T.
/// </summary>
public static class GemmReference
{
    /// <summary>Reference SGEMM; see <see cref="Gemm.Sgemm"/> for the argument contract.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda,   // [m, k] (or [k, m] when transA)
        ReadOnlySpan<float> b, int ldb,   // [k, n] (or [n, k] when transB)
        float beta, Span<float> c, int ldc) // [m, n]
    {
        Gemm.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double acc = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * lda + i] : a[i * lda + p];
                    float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    acc += (double)av * bv;
                }
                float prev = beta == 0f ? 0f : beta * c[i * ldc + j];
                c[i * ldc + j] = (float)(alpha * acc) + prev;
            }
        }
    }
}

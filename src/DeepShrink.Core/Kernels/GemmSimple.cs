using System.Numerics;

namespace DeepShrink.Core.Kernels;

// Interim portable implementation; replaced by the packed BLIS-style kernel.
public static partial class Gemm
{
    private static void SgemmCore(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc, int threads)
    {
        // Materialise op(B) as [k, n] row-major so the inner loop streams along n.
        float[] bt = new float[k * n];
        for (int p = 0; p < k; p++)
            for (int j = 0; j < n; j++)
                bt[p * n + j] = transB ? b[j * ldb + p] : b[p * ldb + j];
        float[] row = new float[n];
        int vw = Vector<float>.Count;
        for (int i = 0; i < m; i++)
        {
            Array.Clear(row);
            for (int p = 0; p < k; p++)
            {
                float av = transA ? a[p * lda + i] : a[i * lda + p];
                if (av == 0f) continue;
                var va = new Vector<float>(av);
                int j = 0;
                var bs = bt.AsSpan(p * n, n);
                for (; j <= n - vw; j += vw)
                    (new Vector<float>(row.AsSpan(j)) + va * new Vector<float>(bs.Slice(j))).CopyTo(row.AsSpan(j));
                for (; j < n; j++) row[j] += av * bs[j];
            }
            var crow = c.Slice(i * ldc, n);
            for (int j = 0; j < n; j++) crow[j] = alpha * row[j] + (beta == 0f ? 0f : beta * crow[j]);
        }
    }
}

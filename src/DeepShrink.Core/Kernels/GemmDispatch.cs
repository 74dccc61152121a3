namespace DeepShrink.Core.Kernels;

public static partial class Gemm
{
    /// <summary>The SIMD level the optimised SGEMM runs on, chosen once at start-up.</summary>
    public static SimdLevel Isa => CpuFeatures.Level;

    /// <summary>Stable name of <see cref="Isa"/> ("vector512", "vector256-fma" or "scalar").</summary>
    public static string IsaName => CpuFeatures.LevelName;

    /// <summary>Multiply-adds below which one thread does the whole product.</summary>
    private const long MinWorkPerThread = 1L << 19;

    private static unsafe void SgemmCore(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda,     // [m, k] (or [k, m] when transA)
        ReadOnlySpan<float> b, int ldb,     // [k, n] (or [n, k] when transB)
        float beta, Span<float> c, int ldc, // [m, n]
        int threads)
    {
        if (k == 0)
        {
            ScaleRows(m, n, beta, c, ldc);
            return;
        }
        long work = (long)m * n * k;
        threads = (int)Math.Clamp(work / MinWorkPerThread, 1, threads);
        fixed (float* pa = a, pb = b, pc = c)
        {
            if (GemmDirect.Prefer(m, n, k))
            {
                GemmDirect.Run(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, threads);
                return;
            }
            switch (Isa)
            {
                case SimdLevel.Vector512:
                    new GemmBlocked<GemmKernel512>(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc).Run(threads);
                    break;
                case SimdLevel.Vector256Fma:
                    new GemmBlocked<GemmKernel256>(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc).Run(threads);
                    break;
                default:
                    new GemmBlocked<GemmKernelScalar>(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc).Run(threads);
                    break;
            }
        }
    }

    /// <summary>C = beta * C, with beta == 0 clearing C (previous NaN included).</summary>
    private static void ScaleRows(int m, int n, float beta, Span<float> c, int ldc) // c: [m, n]
    {
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == 0f) row.Clear();
            else if (beta != 1f) System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }
}

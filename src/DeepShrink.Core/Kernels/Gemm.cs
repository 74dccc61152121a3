namespace DeepShrink.Core.Kernels;

/// <summary>
/// Single-precision general matrix multiply, row-major:
/// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C[m,n].
/// </summary>
/// <remarks>
/// When beta is 0, C is overwritten and its previous contents (even NaN) are ignored.
/// Results do not depend on the number of threads (each C element is reduced in the same order).
/// Large products run the packed, cache-blocked algorithm of Goto and van de Geijn ("Anatomy of
/// high-performance matrix multiplication", ACM TOMS 34(3), 2008) as structured in BLIS (Van Zee
/// and van de Geijn, ACM TOMS 41(3), 2015) on a register-tiled micro-kernel for the SIMD level in
/// <see cref="Isa"/> (8 x 32 on AVX-512, 6 x 16 on AVX2 + FMA, 4 x 4 scalar); thin products
/// (m == 1 or n == 1) and tiny ones skip packing. <see cref="GemmReference"/> is the specification.
/// </remarks>
public static partial class Gemm
{
    /// <summary>SGEMM entry point. <paramref name="threads"/> = 0 uses <see cref="Parallelism.Degree"/>.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda,     // [m, k] (or [k, m] when transA)
        ReadOnlySpan<float> b, int ldb,     // [k, n] (or [n, k] when transB)
        float beta, Span<float> c, int ldc, // [m, n]
        int threads = 0)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        SgemmCore(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads <= 0 ? Parallelism.Degree : threads);
    }

    /// <summary>Validates SGEMM arguments with clear messages.</summary>
    public static void Validate(bool transA, bool transB, int m, int n, int k, int aLen, int lda, int bLen, int ldb, int cLen, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"negative GEMM size m={m} n={n} k={k}");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        if (lda < Math.Max(1, aCols)) throw new ArgumentException($"lda={lda} < {aCols}");
        if (ldb < Math.Max(1, bCols)) throw new ArgumentException($"ldb={ldb} < {bCols}");
        if (ldc < Math.Max(1, n)) throw new ArgumentException($"ldc={ldc} < {n}");
        if (aRows > 0 && aCols > 0 && aLen < (long)(aRows - 1) * lda + aCols) throw new ArgumentException("A buffer too small");
        if (bRows > 0 && bCols > 0 && bLen < (long)(bRows - 1) * ldb + bCols) throw new ArgumentException("B buffer too small");
        if (m > 0 && n > 0 && cLen < (long)(m - 1) * ldc + n) throw new ArgumentException("C buffer too small");
    }
}

using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

/// <summary>Builds random SGEMM problems and compares <see cref="Gemm.Sgemm"/> with <see cref="GemmReference"/>.</summary>
internal static class GemmCheck
{
    /// <summary>One SGEMM problem with row-major buffers padded to the given leading dimensions.</summary>
    public sealed record Problem(bool TransA, bool TransB, int M, int N, int K, float Alpha, float Beta,
        float[] A, int Lda, float[] B, int Ldb, float[] C, int Ldc);

    public static Problem Make(Rng rng, bool transA, bool transB, int m, int n, int k, float alpha, float beta,
        int padA = 0, int padB = 0, int padC = 0)
    {
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = Math.Max(1, aCols + padA), ldb = Math.Max(1, bCols + padB), ldc = Math.Max(1, n + padC);
        var a = Random(rng, aRows * lda);
        var b = Random(rng, bRows * ldb);
        var c = Random(rng, m * ldc);
        // beta == 0 must ignore C entirely, so poison it.
        if (beta == 0f) Array.Fill(c, float.NaN);
        return new Problem(transA, transB, m, n, k, alpha, beta, a, lda, b, ldb, c, ldc);
    }

    private static float[] Random(Rng rng, int len)
    {
        var x = new float[len];
        for (int i = 0; i < len; i++) x[i] = rng.NextFloat() * 2f - 1f;
        return x;
    }

    /// <summary>Runs the optimised kernel on a copy of C and returns the result.</summary>
    public static float[] RunFast(Problem p, int threads)
    {
        var c = (float[])p.C.Clone();
        Gemm.Sgemm(p.TransA, p.TransB, p.M, p.N, p.K, p.Alpha, p.A, p.Lda, p.B, p.Ldb, p.Beta, c, p.Ldc, threads);
        return c;
    }

    /// <summary>
    /// Asserts the optimised result matches the reference element-wise within a bound that grows
    /// with k: |fast - ref| &lt;= 4 eps (k + 2) (|alpha| sum_p |a||b| + |beta c|), and that the padding
    /// between rows of C is untouched.
    /// </summary>
    public static void AssertMatchesReference(Problem p, int threads = 1)
    {
        var fast = RunFast(p, threads);
        var expect = (float[])p.C.Clone();
        GemmReference.Sgemm(p.TransA, p.TransB, p.M, p.N, p.K, p.Alpha, p.A, p.Lda, p.B, p.Ldb, p.Beta, expect, p.Ldc);
        var bound = Array.ConvertAll(p.C, x => float.IsNaN(x) ? 0f : Math.Abs(x));
        GemmReference.Sgemm(p.TransA, p.TransB, p.M, p.N, p.K, Math.Abs(p.Alpha),
            Array.ConvertAll(p.A, Math.Abs), p.Lda, Array.ConvertAll(p.B, Math.Abs), p.Ldb, Math.Abs(p.Beta), bound, p.Ldc);
        float eps = 4f * 1.2e-7f * (p.K + 2);
        for (int i = 0; i < p.M; i++)
        {
            for (int j = 0; j < p.Ldc; j++)
            {
                int idx = i * p.Ldc + j;
                if (j >= p.N)
                {
                    Assert.True(p.C[idx].Equals(fast[idx]), $"padding C[{i},{j}] was overwritten ({Describe(p)})");
                    continue;
                }
                float tol = eps * bound[idx] + 1e-30f;
                if (!(Math.Abs(fast[idx] - expect[idx]) <= tol))
                    Assert.Fail($"C[{i},{j}] = {fast[idx]:R}, reference {expect[idx]:R}, tol {tol:G3} ({Describe(p)}, threads={threads})");
            }
        }
    }

    public static string Describe(Problem p) =>
        $"transA={p.TransA} transB={p.TransB} m={p.M} n={p.N} k={p.K} alpha={p.Alpha} beta={p.Beta} lda={p.Lda} ldb={p.Ldb} ldc={p.Ldc}";
}

using DeepShrink.Core;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Bench;

/// <summary>Random operands for one <see cref="GemmShape"/> (fixed seed), with tight leading dimensions.</summary>
public sealed class GemmOperands
{
    public GemmOperands(GemmShape shape, ulong seed = 20240611)
    {
        Shape = shape;
        var rng = new Rng(seed);
        A = Tensor.Uniform(rng, -1f, 1f, shape.M * shape.K).ContiguousData().Span.ToArray();
        B = Tensor.Uniform(rng, -1f, 1f, shape.K * shape.N).ContiguousData().Span.ToArray();
        C = new float[shape.M * shape.N];
    }

    public GemmShape Shape { get; }
    public float[] A { get; }  // [m, k] or [k, m]
    public float[] B { get; }  // [k, n] or [n, k]
    public float[] C { get; }  // [m, n]
    public int Lda => Math.Max(1, Shape.TransA ? Shape.M : Shape.K);
    public int Ldb => Math.Max(1, Shape.TransB ? Shape.K : Shape.N);
    public int Ldc => Math.Max(1, Shape.N);

    /// <summary>C = op(A) op(B) with our SGEMM on <paramref name="threads"/> threads.</summary>
    public void RunOurs(int threads) =>
        Gemm.Sgemm(Shape.TransA, Shape.TransB, Shape.M, Shape.N, Shape.K, 1f, A, Lda, B, Ldb, 0f, C, Ldc, threads);

    /// <summary>C = op(A) op(B) with OpenBLAS (its thread count set beforehand).</summary>
    public void RunOpenBlas(OpenBlas blas) =>
        blas.Sgemm(Shape.TransA, Shape.TransB, Shape.M, Shape.N, Shape.K, 1f, A, Lda, B, Ldb, 0f, C, Ldc);
}

using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

/// <summary>
/// The optimised SGEMM against <see cref="GemmReference"/>: every tail size of m, n and k from 1
/// to 70, all transpose cases, alpha/beta variants, padded leading dimensions, block-boundary
/// sizes, thread-count independence. <see cref="IsaFallbackVector256Tests"/> and
/// <see cref="IsaFallbackScalarTests"/> re-run this class on lower SIMD levels in child processes.
/// </summary>
public class GemmTests
{
    public static TheoryData<bool, bool> Transposes => new() { { false, false }, { false, true }, { true, false }, { true, true } };

    [Fact]
    public void Runs_on_the_expected_isa()
    {
        // Set by IsaFallback.RunInChild; in a plain run the best level must be picked.
        var expected = Environment.GetEnvironmentVariable(IsaFallback.ExpectedIsaVariable);
        if (!string.IsNullOrEmpty(expected)) Assert.Equal(expected, Gemm.IsaName);
        else Assert.Equal(CpuFeatures.LevelName, Gemm.IsaName);
    }

    [Theory, MemberData(nameof(Transposes))]
    public void Every_m_from_1_to_70(bool transA, bool transB)
    {
        var rng = new Rng(101);
        for (int m = 1; m <= 70; m++)
            GemmCheck.AssertMatchesReference(GemmCheck.Make(rng, transA, transB, m, 37, 29, 1f, 0f));
    }

    [Theory, MemberData(nameof(Transposes))]
    public void Every_n_from_1_to_70(bool transA, bool transB)
    {
        var rng = new Rng(102);
        for (int n = 1; n <= 70; n++)
            GemmCheck.AssertMatchesReference(GemmCheck.Make(rng, transA, transB, 23, n, 31, 1f, 0f));
    }

    [Theory, MemberData(nameof(Transposes))]
    public void Every_k_from_1_to_70(bool transA, bool transB)
    {
        var rng = new Rng(103);
        for (int k = 1; k <= 70; k++)
            GemmCheck.AssertMatchesReference(GemmCheck.Make(rng, transA, transB, 19, 41, k, 1f, 0f));
    }

    [Theory]
    [InlineData(1f, 1f)]
    [InlineData(-0.5f, 2f)]
    [InlineData(2f, -1f)]
    [InlineData(0f, 0.5f)]
    [InlineData(0.25f, 0f)]
    public void Alpha_beta_variants(float alpha, float beta)
    {
        var rng = new Rng(104);
        foreach (var (m, n, k) in new[] { (3, 5, 7), (13, 33, 17), (40, 70, 300), (1, 50, 20), (50, 1, 20) })
            for (int t = 0; t < 4; t++)
                GemmCheck.AssertMatchesReference(GemmCheck.Make(rng, (t & 1) != 0, (t & 2) != 0, m, n, k, alpha, beta));
    }

    [Fact]
    public void Random_sizes_transposes_and_leading_dimensions()
    {
        var rng = new Rng(105);
        float[] alphas = [1f, -1.5f, 0.5f], betas = [0f, 1f, -0.75f];
        for (int trial = 0; trial < 120; trial++)
        {
            int m = 1 + rng.NextInt(70), n = 1 + rng.NextInt(70), k = 1 + rng.NextInt(70);
            var p = GemmCheck.Make(rng, rng.NextInt(2) == 1, rng.NextInt(2) == 1, m, n, k,
                alphas[rng.NextInt(3)], betas[rng.NextInt(3)], rng.NextInt(5), rng.NextInt(5), rng.NextInt(5));
            GemmCheck.AssertMatchesReference(p, threads: 1 + rng.NextInt(2));
        }
    }

    [Theory, MemberData(nameof(Transposes))]
    public void Block_boundaries(bool transA, bool transB)
    {
        // Sizes that straddle the depth block (256), the row block and the row/column chunking.
        var rng = new Rng(106);
        foreach (var (m, n, k) in new[] { (197, 45, 257), (25, 70, 513), (390, 33, 40), (13, 4100, 9), (4101, 5, 7) })
            GemmCheck.AssertMatchesReference(GemmCheck.Make(rng, transA, transB, m, n, k, 1.5f, 0.5f, 3, 1, 2), threads: 2);
    }

    [Theory, MemberData(nameof(Transposes))]
    public void Thread_count_does_not_change_bits(bool transA, bool transB)
    {
        var rng = new Rng(107);
        // Blocked multi-threaded, LeNet-like fully connected, and thin (direct path) shapes.
        foreach (var (m, n, k) in new[] { (200, 300, 520), (300, 70, 200), (64, 300, 784), (1, 3000, 400), (3000, 1, 400), (50, 2048, 300) })
        {
            var p = GemmCheck.Make(rng, transA, transB, m, n, k, 1f, 0.5f);
            var one = GemmCheck.RunFast(p, 1);
            foreach (int threads in new[] { 2, 3 })
                Assert.True(one.AsSpan().SequenceEqual(GemmCheck.RunFast(p, threads)), $"threads=1 vs {threads} differ ({GemmCheck.Describe(p)})");
        }
    }

    [Fact]
    public void Beta_zero_ignores_nan_in_c_and_k_zero_scales_c()
    {
        var rng = new Rng(108);
        foreach (int k in new[] { 1, 64, 300 })
        {
            var p = GemmCheck.Make(rng, false, true, 30, 40, k, 1f, 0f); // C is all NaN
            Assert.All(GemmCheck.RunFast(p, 2), v => Assert.False(float.IsNaN(v)));
        }
        var c = new[] { 1f, 2f, float.NaN, 4f };
        Gemm.Sgemm(false, false, 2, 2, 0, 1f, [], 1, [], 2, 0f, c, 2);
        Assert.Equal(new[] { 0f, 0f, 0f, 0f }, c);
        c = [1f, 2f, 3f, 4f];
        Gemm.Sgemm(false, false, 2, 2, 0, 1f, [], 1, [], 2, 2f, c, 2);
        Assert.Equal(new[] { 2f, 4f, 6f, 8f }, c);
    }

    [Fact]
    public void Invalid_arguments_throw()
    {
        var buf = new float[12];
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 3, 4, 2, 1f, buf, 1, buf, 4, 0f, buf, 4));
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 3, 4, 5, 1f, buf, 5, buf, 4, 0f, buf, 4));
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 3, 4, 2, 1f, buf, 2, buf, 4, 0f, buf, 3));
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, -1, 4, 2, 1f, buf, 2, buf, 4, 0f, buf, 4));
    }
}

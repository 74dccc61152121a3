using DeepShrink.Compression.LowRank;
using DeepShrink.Core;

namespace DeepShrink.Compression.Tests;

public class LowRankConvTests
{
    /// <summary>Conv geometry: O, C, kh, kw, stride, padding, dilation, groups.</summary>
    public static IEnumerable<object[]> Geometries => new[]
    {
        new object[] { 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
        new object[] { 6, 4, 3, 2, 2, 1, 1, 0, 1, 2, 2 },
        new object[] { 8, 6, 2, 3, 1, 2, 0, 2, 2, 1, 2 },
        new object[] { 5, 3, 1, 3, 1, 3, 0, 1, 1, 1, 1 },
    };

    private static FactorLayer RandomConv(Rng rng, int o, int c, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int g)
    {
        var w = new float[o * (c / g) * kh * kw];
        for (int i = 0; i < w.Length; i++) w[i] = (float)rng.NextGaussian();
        var b = Enumerable.Range(0, o).Select(i => 0.1f * i - 0.2f).ToArray();
        return FactorLayer.Conv(w, new[] { o, c / g, kh, kw }, b, (sh, sw), (ph, pw), (dh, dw), g);
    }

    private static void AssertSameOutput(FactorLayer reference, Factorization f, Rng rng, double tol)
    {
        var x = Tensor.Randn(rng, 1f, 2, reference.InChannels, 9, 8);
        var want = reference.Forward(x).ToArray();
        var got = f.Forward(x).ToArray();
        Assert.Equal(want.Length, got.Length);
        double scale = want.Max(v => Math.Abs(v));
        double diff = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(diff <= tol * scale, $"{f.Method}: output differs by {diff} (scale {scale})");
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void TruncatedSequencesComputeTheirApproximation(int o, int c, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int g)
    {
        var rng = new Rng(21);
        var conv = RandomConv(rng, o, c, kh, kw, sh, sw, ph, pw, dh, dw, g);
        int og = o / g, cg = c / g;
        var factorizations = new[]
        {
            Tucker2.Decompose(conv, Math.Max(1, og - 1), Math.Max(1, cg - 1)),
            CpConv.Decompose(conv, 3, maxIterations: 30),
            SpatialSvd.Decompose(conv, Math.Max(1, SpatialSvd.MaxRank(conv) - 2)),
        };
        foreach (var f in factorizations)
        {
            Assert.True(f.RelativeError > 1e-3); // really truncated
            AssertSameOutput(f.ApproximateLayer(), f, rng, 1e-5);
        }
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void FullRankSequencesEqualTheOriginalConv(int o, int c, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int g)
    {
        var rng = new Rng(22);
        var conv = RandomConv(rng, o, c, kh, kw, sh, sw, ph, pw, dh, dw, g);
        var tucker = Tucker2.Decompose(conv, o / g, c / g);
        var spatial = SpatialSvd.Decompose(conv, SpatialSvd.MaxRank(conv));
        foreach (var f in new[] { tucker, spatial })
        {
            Assert.True(f.RelativeError < 1e-6, $"{f.Method}: {f.RelativeError}");
            AssertSameOutput(conv, f, rng, 1e-5);
        }
    }

    [Fact]
    public void TuckerRecoversExactMultilinearRanksAndHooiErrorNeverIncreases()
    {
        var rng = new Rng(31);
        int o = 10, c = 8, kh = 3, kw = 3, ro = 4, ri = 3;
        var core = LowRankLinearAlgebraTests.RandomMatrix(rng, ro, ri * kh * kw);
        var uout = LowRankLinearAlgebraTests.RandomMatrix(rng, o, ro);
        var uin = LowRankLinearAlgebraTests.RandomMatrix(rng, c, ri);
        var exact = new TuckerResult(core, DoubleGemm.Transpose(uout, o, ro), DoubleGemm.Transpose(uin, c, ri), o, c, kh * kw, ro, ri, Array.Empty<double>()).Reconstruct();
        var conv = FactorLayer.Conv(exact.Select(v => (float)v).ToArray(), new[] { o, c, kh, kw }, padding: (1, 1));
        var f = Tucker2.Decompose(conv, ro, ri);
        Assert.True(f.RelativeError < 1e-6, $"exact Tucker error {f.RelativeError}");

        // On a generic tensor HOOI improves on HOSVD and its error never increases.
        var dense = LowRankLinearAlgebraTests.RandomMatrix(rng, o, c * kh * kw);
        var hooi = Hooi.Decompose(dense, o, c, kh * kw, 3, 3, maxIterations: 30, tolerance: 0);
        for (int i = 1; i < hooi.ErrorHistory.Length; i++) Assert.True(hooi.ErrorHistory[i] <= hooi.ErrorHistory[i - 1] + 1e-12);
        Assert.True(hooi.ErrorHistory[^1] < hooi.ErrorHistory[0]);
        var back = hooi.Reconstruct();
        double diff2 = dense.Zip(back, (a, b) => (a - b) * (a - b)).Sum(), norm2 = dense.Sum(v => v * v);
        Assert.Equal(hooi.ErrorHistory[^1], Math.Sqrt(diff2 / norm2), 9);
    }

    [Fact]
    public void CpAlsRecoversAnExactRankRKernel()
    {
        var rng = new Rng(41);
        int o = 12, c = 10, kh = 3, kw = 3, r = 5;
        var f = new[] { o, c, kh, kw }.Select(n => LowRankLinearAlgebraTests.RandomMatrix(rng, n, r)).ToArray();
        var exact = new CpResult(Enumerable.Repeat(1.0, r).ToArray(), f, new[] { o, c, kh, kw }, r, Array.Empty<double>()).Reconstruct();
        var conv = FactorLayer.Conv(exact.Select(v => (float)v).ToArray(), new[] { o, c, kh, kw }, stride: (2, 1), padding: (1, 1));
        var cp = CpConv.Decompose(conv, r, maxIterations: 2000);
        Assert.True(cp.RelativeError < 1e-4, $"exact CP error {cp.RelativeError}");
        AssertSameOutput(conv, cp, rng, 1e-4);

        var als = CpAls.Decompose(Svd.ToDouble(conv.Weight), new[] { o, c, kh, kw }, r, maxIterations: 2000);
        Assert.True(als.ErrorHistory[^1] < 1e-4);
        Assert.True(als.ErrorHistory[^1] < als.ErrorHistory[0]);
    }

    [Fact]
    public void SpatialSvdRecoversAnExactSeparableKernel()
    {
        var rng = new Rng(51);
        int o = 6, c = 5, kh = 3, kw = 3, k = 4;
        var v = LowRankLinearAlgebraTests.RandomMatrix(rng, k, c * kh);
        var h = LowRankLinearAlgebraTests.RandomMatrix(rng, o * kw, k);
        var w = new float[o * c * kh * kw];
        for (int oi = 0; oi < o; oi++)
            for (int ci = 0; ci < c; ci++)
                for (int y = 0; y < kh; y++)
                    for (int x = 0; x < kw; x++)
                    {
                        double s = 0;
                        for (int q = 0; q < k; q++) s += v[q * c * kh + ci * kh + y] * h[(oi * kw + x) * k + q];
                        w[((oi * c + ci) * kh + y) * kw + x] = (float)s;
                    }
        var conv = FactorLayer.Conv(w, new[] { o, c, kh, kw }, padding: (1, 1));
        var f = SpatialSvd.Decompose(conv, k);
        Assert.True(f.RelativeError < 1e-6, $"exact separable error {f.RelativeError}");
        AssertSameOutput(conv, f, rng, 1e-5);
        Assert.True(SpatialSvd.Spectrum(conv)[k] < 1e-5 * SpatialSvd.Spectrum(conv)[0]);
    }

    [Fact]
    public void ConvDecompositionsRejectBadInput()
    {
        var conv = RandomConv(new Rng(1), 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2);
        Assert.Contains("within", Assert.Throws<ArgumentException>(() => Tucker2.Decompose(conv, 3, 1)).Message);
        Assert.Throws<ArgumentException>(() => SpatialSvd.Decompose(conv, 7));
        Assert.Throws<ArgumentException>(() => CpConv.Decompose(conv, 0));
        var linear = FactorLayer.Linear(new float[6], 2, 3);
        Assert.Contains("conv2d", Assert.Throws<ArgumentException>(() => Tucker2.Decompose(linear, 1, 1)).Message);
        Assert.Throws<ArgumentException>(() => FactorLayer.Conv(new float[10], new[] { 4, 2, 3, 3 }));
    }

    [Fact]
    public void CostsMatchTheLayersTheyDescribe()
    {
        var conv = RandomConv(new Rng(2), 8, 6, 3, 2, 2, 1, 1, 1, 1, 2, 2);
        int h = 11, w = 9;
        var tucker = Tucker2.Decompose(conv, 3, 2);
        var cp = CpConv.Decompose(conv, 4, maxIterations: 5);
        var sp = SpatialSvd.Decompose(conv, 3);
        Assert.Equal(tucker.Parameters, Tucker2.Cost(conv, 3, 2, CostKind.Parameters));
        Assert.Equal(tucker.Macs(h, w), Tucker2.Cost(conv, 3, 2, CostKind.Macs, h, w));
        Assert.Equal(cp.Parameters, CpConv.Cost(conv, 4, CostKind.Parameters));
        Assert.Equal(cp.Macs(h, w), CpConv.Cost(conv, 4, CostKind.Macs, h, w));
        Assert.Equal(sp.Parameters, SpatialSvd.Cost(conv, 3, CostKind.Parameters));
        Assert.Equal(sp.Macs(h, w), SpatialSvd.Cost(conv, 3, CostKind.Macs, h, w));
    }
}

using DeepShrink.Compression.LowRank;
using DeepShrink.Core;
using static DeepShrink.Compression.Tests.LowRankLinearAlgebraTests;

namespace DeepShrink.Compression.Tests;

public class LowRankLinearAndRankTests
{
    private static FactorLayer LinearOf(double[] w, int o, int i, bool bias = true)
        => FactorLayer.Linear(w.Select(v => (float)v).ToArray(), o, i, bias ? Enumerable.Range(0, o).Select(k => 0.01f * k).ToArray() : null);

    [Fact]
    public void LinearSvdOfExactRankLayerIsExactAndSequenceMatches()
    {
        var rng = new Rng(61);
        var layer = LinearOf(LowRankMatrix(rng, 30, 50, 6), 30, 50);
        var f = LinearSvd.Decompose(layer, 6);
        Assert.True(f.RelativeError < 1e-6, $"rank-6 error {f.RelativeError}");
        Assert.Equal(new[] { 50, 6 }, f.Layers[0].WeightShape.Reverse());
        Assert.Null(f.Layers[0].Bias);
        Assert.Same(layer.Bias, f.Layers[1].Bias);
        var x = Tensor.Randn(rng, 1f, 4, 50);
        var want = layer.Forward(x).ToArray();
        var got = f.Forward(x).ToArray();
        Assert.True(want.Zip(got, (a, b) => Math.Abs(a - b)).Max() < 1e-4 * want.Max(Math.Abs));
        Assert.Equal(6L * 80 + 30, f.Parameters);
    }

    [Fact]
    public void LinearSvdTruncationErrorIsTheSingularValueTail()
    {
        var rng = new Rng(62);
        var w = RandomMatrix(rng, 20, 35);
        var layer = LinearOf(w, 20, 35, bias: false);
        var s = Svd.Values(w, 20, 35);
        var expected = LinearSvd.ErrorByRank(s);
        foreach (int r in new[] { 1, 5, 12 })
        {
            var f = LinearSvd.Decompose(layer, r);
            Assert.Equal(expected[r], f.RelativeError, 5);
            var x = Tensor.Randn(rng, 1f, 3, 35);
            var want = f.ApproximateLayer().Forward(x).ToArray();
            var got = f.Forward(x).ToArray();
            Assert.True(want.Zip(got, (a, b) => Math.Abs(a - b)).Max() < 1e-4 * want.Max(Math.Abs));
        }
    }

    [Fact]
    public void EnergyAndBudgetRanksAreTheBoundaryRanks()
    {
        var rng = new Rng(63);
        var layer = LinearOf(RandomMatrix(rng, 40, 30), 40, 30);
        var s = Svd.Values(Svd.ToDouble(layer.Weight), 40, 30);
        var f = LinearSvd.DecomposeByEnergy(layer, 0.8);
        int r = f.Ranks[0];
        double total = s.Sum(x => x * x);
        Assert.True(s.Take(r).Sum(x => x * x) >= 0.8 * total);
        Assert.True(s.Take(r - 1).Sum(x => x * x) < 0.8 * total);

        long budget = 700; // r (40 + 30) + 40 <= 700 -> r = 9
        var b = LinearSvd.DecomposeByBudget(layer, budget);
        Assert.True(b.Parameters <= budget);
        Assert.True(LinearSvd.Cost(layer, b.Ranks[0] + 1, CostKind.Parameters) > budget);
        Assert.Equal(9, b.Ranks[0]);
        Assert.Contains("budget", Assert.Throws<ArgumentException>(() => LinearSvd.DecomposeByBudget(layer, 50)).Message);

        var conv = FactorLayer.Conv(new float[16 * 12 * 9].Select((_, i) => (float)Math.Sin(i)).ToArray(), new[] { 16, 12, 3, 3 }, padding: (1, 1));
        long macBudget = 30_000;
        var (ro, ri) = Tucker2.RanksForBudget(conv, macBudget, CostKind.Macs, 8, 8);
        Assert.True(Tucker2.Cost(conv, ro, ri, CostKind.Macs, 8, 8) <= macBudget);
        int rcp = CpConv.RankForBudget(conv, macBudget, CostKind.Macs, 8, 8);
        Assert.True(CpConv.Cost(conv, rcp, CostKind.Macs, 8, 8) <= macBudget);
        Assert.True(CpConv.Cost(conv, rcp + 1, CostKind.Macs, 8, 8) > macBudget);
    }

    [Fact]
    public void VbmfFindsTheRankOfANoisyLowRankMatrix()
    {
        foreach (var (m, n, r, noise) in new[] { (60, 80, 5, 0.1), (100, 40, 3, 0.3), (50, 50, 8, 0.05) })
        {
            var rng = new Rng((ulong)(m * n + r));
            var y = LowRankMatrix(rng, m, n, r);
            for (int i = 0; i < y.Length; i++) y[i] += noise * rng.NextGaussian();
            var est = Vbmf.EstimateMatrix(y, m, n);
            Assert.Equal(r, est.Rank);
            Assert.InRange(est.NoiseVariance, 0.5 * noise * noise, 2 * noise * noise);
        }
        // Pure noise: nothing above the threshold.
        var pure = RandomMatrix(new Rng(5), 40, 60);
        Assert.Equal(0, Vbmf.EstimateMatrix(pure, 40, 60).Rank);
    }

    [Fact]
    public void TuckerVbmfRanksFindTheMultilinearRanks()
    {
        var rng = new Rng(71);
        int o = 24, c = 20, k = 9, ro = 5, ri = 4;
        var core = RandomMatrix(rng, ro, ri * k);
        var exact = new TuckerResult(core, DoubleGemm.Transpose(RandomMatrix(rng, o, ro), o, ro), DoubleGemm.Transpose(RandomMatrix(rng, c, ri), c, ri),
            o, c, k, ro, ri, Array.Empty<double>()).Reconstruct();
        var w = exact.Select(v => (float)(v + 0.01 * rng.NextGaussian())).ToArray();
        var conv = FactorLayer.Conv(w, new[] { o, c, 3, 3 });
        Assert.Equal((ro, ri), Tucker2.VbmfRanks(conv));
        Assert.Equal((ro, ri), Tucker2.EnergyRanks(conv, 0.999));
    }

    [Fact]
    public void GlobalAllocationRespectsTheBudgetAndBeatsUniformRank()
    {
        var rng = new Rng(81);
        // fc-a: fast-decaying spectrum (cheap to compress); fc-b: flat spectrum (expensive to compress).
        var a = Spectrum(rng, 60, 40, k => Math.Pow(0.7, k) * 10);
        var b = Spectrum(rng, 50, 50, k => 3.0 - 0.01 * k);
        var layers = new[] { ("fc-a", a, 60, 40), ("fc-b", b, 50, 50) }
            .Select(t => GlobalRankAllocator.SvdCandidates(t.Item1, LinearOf(t.Item2, t.Item3, t.Item4, bias: false), CostKind.Parameters)).ToArray();
        long dense = 60 * 40 + 50 * 50;
        foreach (var fraction in new[] { 0.3, 0.5, 0.7 })
        {
            long budget = (long)(fraction * dense);
            var alloc = GlobalRankAllocator.Allocate(layers, budget);
            Assert.True(alloc.TotalCost <= budget);
            Assert.Equal(alloc.Choices.Sum(c => c.Choice.Cost), alloc.TotalCost);
            // Uniform: the same rank fraction of min(out, in) for both layers, the largest that fits.
            double uniformError = double.NaN;
            for (double t = 1; t > 0; t -= 0.005)
            {
                var picks = layers.Select((l, i) => Pick(l, (int)Math.Round(t * (i == 0 ? 40 : 50)))).ToArray();
                if (picks.Sum(p => p.Cost) > budget) continue;
                uniformError = picks.Sum(p => p.Error);
                break;
            }
            Assert.True(alloc.TotalError < uniformError, $"budget {budget}: global {alloc.TotalError} vs uniform {uniformError}");
        }
        Assert.Throws<ArgumentException>(() => GlobalRankAllocator.Allocate(layers, 10));
    }

    [Fact]
    public void GlobalAllocationIsOptimalOnAConvexCase()
    {
        // Two layers, unit costs per rank, convex errors: brute force agrees with the greedy choice.
        LayerCandidates L(string name, double decay) => new(name, Enumerable.Range(0, 11)
            .Select(r => new RankCandidate(new[] { r }, 10 * r, 100 * Math.Pow(decay, r))).ToArray());
        var layers = new[] { L("x", 0.5), L("y", 0.8), L("z", 0.65) };
        for (long budget = 0; budget <= 300; budget += 37)
        {
            var alloc = GlobalRankAllocator.Allocate(layers, budget);
            double best = double.PositiveInfinity;
            foreach (var p in layers[0].Candidates)
                foreach (var q in layers[1].Candidates)
                    foreach (var s in layers[2].Candidates)
                        if (p.Cost + q.Cost + s.Cost <= budget) best = Math.Min(best, p.Error + q.Error + s.Error);
            Assert.True(alloc.TotalCost <= budget);
            Assert.Equal(best, alloc.TotalError, 9);
        }
    }

    private static RankCandidate Pick(LayerCandidates l, int rank)
        => l.Candidates.Where(c => !c.IsDense && c.Ranks[0] <= Math.Max(rank, 1)).MaxBy(c => c.Ranks[0])!;

    /// <summary>A [m, n] matrix with singular values sigma(k) and random orthonormal singular vectors.</summary>
    private static double[] Spectrum(Rng rng, int m, int n, Func<int, double> sigma)
    {
        int k = Math.Min(m, n);
        var u = Svd.Thin(RandomMatrix(rng, m, k), m, k).U;
        var v = Svd.Thin(RandomMatrix(rng, k, n), k, n).Vt;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < k; j++) u[i * k + j] *= sigma(j);
        var w = new double[m * n];
        DoubleGemm.Multiply(u, v, w, m, k, n);
        return w;
    }
}

using DeepShrink.Compression.LowRank;
using DeepShrink.Core;

namespace DeepShrink.Compression.Tests;

public class LowRankDecomposerTests
{
    private static FactorLayer Conv(ulong seed, int o = 12, int c = 8, int groups = 1)
    {
        var rng = new Rng(seed);
        var w = new float[o * (c / groups) * 9];
        for (int i = 0; i < w.Length; i++) w[i] = (float)rng.NextGaussian();
        return FactorLayer.Conv(w, new[] { o, c / groups, 3, 3 }, new float[o], padding: (1, 1), groups: groups);
    }

    [Fact]
    public void EveryRuleGivesTheSameResultAsTheDirectCall()
    {
        var conv = Conv(1);
        var direct = Tucker2.Decompose(conv, 5, 4, maxIterations: 7);
        var viaOptions = LowRankDecomposer.Decompose(conv, new LowRankOptions { Method = "tucker2", Ranks = new[] { 5, 4 }, MaxIterations = 7 });
        Assert.Equal(direct.Approximation, viaOptions.Approximation);
        var budget = LowRankDecomposer.Decompose(conv, new LowRankOptions { Method = "cp", Budget = 400, MaxIterations = 10 });
        Assert.True(budget.Parameters <= 400);
        Assert.True(CpConv.Cost(conv, budget.Ranks[0] + 1, CostKind.Parameters) > 400);
        var energy = LowRankDecomposer.Decompose(conv, new LowRankOptions { Method = "spatial-svd", Energy = 0.9 });
        var s = SpatialSvd.Spectrum(conv);
        Assert.Equal(RankSelection.ByEnergy(s, 0.9), energy.Ranks[0]);
        var macs = LowRankDecomposer.Decompose(conv, new LowRankOptions { Method = "spatial-svd", Budget = 20_000, CostKind = CostKind.Macs, InputSize = (10, 10) });
        Assert.True(macs.Macs(10, 10) <= 20_000);
    }

    [Fact]
    public void BadOptionsGiveOneLineErrorsNamingTheOption()
    {
        var conv = Conv(2);
        Assert.Contains("method", Assert.Throws<ArgumentException>(() => LowRankDecomposer.Decompose(conv, new LowRankOptions { Method = "qr", Ranks = new[] { 1 } })).Message);
        Assert.Contains("exactly one", Assert.Throws<ArgumentException>(() => LowRankDecomposer.Decompose(conv, new LowRankOptions { Method = "cp" })).Message);
        Assert.Contains("vbmf", Assert.Throws<ArgumentException>(() => LowRankDecomposer.Decompose(conv, new LowRankOptions { Method = "cp", Vbmf = true })).Message);
        Assert.Contains("does not apply", Assert.Throws<ArgumentException>(() => LowRankDecomposer.Decompose(conv, new LowRankOptions { Method = "svd", Ranks = new[] { 2 } })).Message);
        Assert.Contains("two", Assert.Throws<ArgumentException>(() => LowRankDecomposer.Decompose(conv, new LowRankOptions { Method = "tucker2", Ranks = new[] { 2 } })).Message);
    }

    [Fact]
    public void GlobalAllocationOverConvCandidatesFitsAMacBudget()
    {
        // One structured (exactly low Tucker rank, cheap to compress) and one Gaussian conv.
        var rng = new Rng(3);
        var core = LowRankLinearAlgebraTests.RandomMatrix(rng, 3, 3 * 9);
        var low = new TuckerResult(core, DoubleGemm.Transpose(LowRankLinearAlgebraTests.RandomMatrix(rng, 12, 3), 12, 3),
            DoubleGemm.Transpose(LowRankLinearAlgebraTests.RandomMatrix(rng, 8, 3), 8, 3), 12, 8, 9, 3, 3, Array.Empty<double>()).Reconstruct();
        var structured = FactorLayer.Conv(low.Select(v => (float)v).ToArray(), new[] { 12, 8, 3, 3 }, padding: (1, 1));
        var gaussian = Conv(4);
        var fractions = new[] { 0.25, 0.5, 0.75 };
        var layers = new[]
        {
            LowRankDecomposer.ConvCandidates("a", structured, "tucker2", fractions, CostKind.Macs, 8, 8),
            LowRankDecomposer.ConvCandidates("b", gaussian, "tucker2", fractions, CostKind.Macs, 8, 8),
        };
        long dense = structured.Macs(8, 8) + gaussian.Macs(8, 8);
        var alloc = GlobalRankAllocator.Allocate(layers, dense * 3 / 4);
        Assert.True(alloc.TotalCost <= dense * 3 / 4);
        // The structured layer is compressed (its rank-3 candidate is exact); the Gaussian one keeps more.
        var a = alloc.Choices[0].Choice;
        Assert.False(a.IsDense);
        Assert.True(a.Error < 1e-6 * structured.Weight.Sum(x => (double)x * x));

        // Sensitivity 0 makes a layer free to compress: it drops to its cheapest candidate.
        var zero = layers[1] with { Sensitivity = 0 };
        var alloc0 = GlobalRankAllocator.Allocate(new[] { layers[0], zero }, dense * 3 / 4);
        Assert.Equal(zero.Candidates.Min(c => c.Cost), alloc0.Choices[1].Choice.Cost);
    }
}

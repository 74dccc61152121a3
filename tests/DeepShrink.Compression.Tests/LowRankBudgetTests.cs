using DeepShrink.Compression.LowRank;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Data;
using DeepShrink.Nn;
using DeepShrink.Nn.IO;

namespace DeepShrink.Compression.Tests;

/// <summary>The whole-network rank budget of the low-rank component: it is kept, distributed by a principled rule, and refused when impossible.</summary>
public class LowRankBudgetTests
{
    private static GraphModule Net() => LowRankComponentTests.Net();

    private static long Macs(GraphModule m)
    {
        var s = m.StateDict();
        return GraphAnalysis.TotalMacs(m.ToGraph(), t => s.TryGetValue(t, out var v) ? v.Shape : null);
    }

    private static CompressionResult Run(string settings, string dir, string name = "m")
    {
        var all = SyntheticData.Blobs(96, 4, 2, 8, 8, 1);
        var recipe = RecipeLoader.Parse($$"""
            version: 1
            name: lr-budget
            components:
              f: {type: low-rank, {{settings}}}
            policies:
              - {component: f, start_epoch: 0}
            """, "lr-budget.yaml");
        return Compressor.Run(new CompressionJob
        {
            Model = new LoadedModel(Net(), new Dictionary<string, string>()), Recipe = recipe,
            Train = all, Validation = all, Test = all, OutPath = Path.Combine(dir, name + ".dsz"), MaxDropPp = 100,
        });
    }

    [Theory]
    [InlineData("conv: tucker2, target: {flops: 0.3}, allocation: global", 0.3, true)]
    [InlineData("conv: tucker2, target: {flops: 0.3}, allocation: uniform", 0.3, true)]
    [InlineData("conv: cp, target: {flops: 0.4}, error: frobenius", 0.4, true)]
    [InlineData("conv: spatial-svd, target: {params: 0.5}", 0.5, false)]
    public void TheWholeNetworkTargetIsKeptAndMostlySpent(string settings, double fraction, bool flops)
    {
        var dir = Directory.CreateTempSubdirectory("ds-lrb-").FullName;
        try
        {
            var dense = Net();
            long before = flops ? Macs(dense) : dense.Parameters().Sum(p => (long)p.Size);
            var r = Run(settings, dir);
            long after = flops ? Macs(r.Model) : r.Model.Parameters().Sum(p => (long)p.Size);
            Assert.True(after <= fraction * before, $"{after} of {before}, target {fraction}");
            // the allocation spends most of the budget rather than over-compressing
            Assert.True(after >= 0.6 * fraction * before, $"{after} of {before}: the budget {fraction} is barely used");
            Assert.DoesNotContain(r.Model.ToGraph().Nodes, n => n.Name == "fc2.f0"); // the classifier stays dense
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AnImpossibleTargetIsAOneLineErrorAndWritesNothing()
    {
        var dir = Directory.CreateTempSubdirectory("ds-lrb-").FullName;
        try
        {
            var e = Assert.Throws<ArgumentException>(() => Run("conv: tucker2, target: {flops: 0.001}", dir));
            Assert.Contains("cannot be met", e.Message);
            Assert.DoesNotContain('\n', e.Message);
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("conv: cp", "cp chooses its ranks by a budget")]
    [InlineData("target: {flops: 0.3, params: 0.3}", "exactly one of flops or params")]
    [InlineData("target: {flops: 1.5}", "flops")]
    [InlineData("target: {flops: 0.3}, energy: 0.5", "energy")]
    [InlineData("target: {macs: 0.3}", "exactly one of flops or params")]
    [InlineData("target: {flops: 0.3}, allocation: best", "allocation")]
    [InlineData("allocation: uniform", "applies only with a target")]
    [InlineData("conv: cp3", "must be tucker2, cp, spatial-svd or none")]
    public void BadSettingsAreOneLineErrorsNamingTheKey(string settings, string expected)
    {
        var e = Assert.ThrowsAny<Exception>(() => RecipeLoader.Parse($$"""
            version: 1
            name: bad
            components:
              f: {type: low-rank, {{settings}}}
            policies:
              - {component: f, start_epoch: 0}
            """, "bad.yaml"));
        Assert.True(e is RecipeFormatException, e.GetType().Name + ": " + e.Message);
        Assert.Contains(expected, e.Message);
    }

    // Two linear layers of the same size: A is exactly rank 2, B is full rank. Under a budget of half the weights the
    // global rule gives A its rank 2 (no error) and B the rest; the uniform rule cuts both to the same rank.
    [Fact]
    public void GlobalAllocationSpendsTheBudgetWhereItBuysTheMostAndUniformDoesNot()
    {
        var rng = new Rng(11);
        var u = Tensor.Randn(rng, 1f, 40, 2); var v = Tensor.Randn(rng, 1f, 2, 40);
        var a = new BudgetLayer("a", FactorLayer.Linear(Ops.MatMul(u, v).ToArray(), 40, 40), "svd", (1, 1));
        var b = new BudgetLayer("b", FactorLayer.Linear(Tensor.Randn(rng, 1f, 40, 40).ToArray(), 40, 40), "svd", (1, 1));
        long budget = 1600; // of 3200 weights
        var g = RankBudget.Allocate([a, b], CostKind.Parameters, 0, budget, uniform: false, lossIncrease: null);
        var un = RankBudget.Allocate([a, b], CostKind.Parameters, 0, budget, uniform: true, lossIncrease: null);
        foreach (var alloc in new[] { g, un })
            Assert.True(new[] { a, b }.Sum(l => alloc[l.Name] is { } r ? l.Cost(r, CostKind.Parameters) : l.DenseCost(CostKind.Parameters)) <= budget);
        Assert.InRange(g["a"]![0], 2, 4);
        Assert.True(g["b"] is null || g["b"]![0] > 12, $"b rank {g["b"]?[0]}");
        Assert.Equal(un["a"]![0], un["b"]![0]);
        double Err(BudgetLayer l, int[]? r) => r is null ? 0 : Math.Pow(l.Decompose(r, 10).RelativeError, 2);
        Assert.True(Err(a, g["a"]) + Err(b, g["b"]) < Err(a, un["a"]) + Err(b, un["b"]));
    }

    [Fact]
    public void TheMeasuredLossIsWhatTheGlobalRuleMinimises()
    {
        // Same shapes, same spectra, but layer "hot" is 100x more sensitive: it keeps the higher rank.
        var rng = new Rng(12);
        var w = Tensor.Randn(rng, 1f, 30, 30).ToArray();
        var hot = new BudgetLayer("hot", FactorLayer.Linear(w, 30, 30), "svd", (1, 1));
        var cold = new BudgetLayer("cold", FactorLayer.Linear((float[])w.Clone(), 30, 30), "svd", (1, 1));
        var norm = w.Sum(x => (double)x * x);
        double Loss(BudgetLayer l, float[] approx)
        {
            double e = 0;
            for (int i = 0; i < approx.Length; i++) e += (approx[i] - (double)l.Layer.Weight[i]) * (approx[i] - l.Layer.Weight[i]);
            return (l.Name == "hot" ? 100 : 1) * e / norm;
        }
        var g = RankBudget.Allocate([hot, cold], CostKind.Macs, 0, 900, uniform: false, lossIncrease: Loss);
        int rh = g["hot"]?[0] ?? 30, rc = g["cold"]?[0] ?? 30;
        Assert.True(rh > rc, $"hot rank {rh}, cold rank {rc}");
        Assert.True(hot.Cost([rh], CostKind.Macs) + cold.Cost([rc], CostKind.Macs) <= 900);
    }
}

using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Nn;
using DeepShrink.Nn.IO;

namespace DeepShrink.Compression.Tests;

/// <summary>The automatic pruning level: probe bisection over equal-error levels and the self-calibrating back-off.</summary>
public class AutoLevelTests
{
    private static readonly double[] Grid = [0, 0.5, 0.8, 0.9, 0.95];

    // Two layers whose candidate levels interleave: a's errors 0.01..0.2, b's 0.02..0.4.
    private static List<LayerErrorCurve> Curves() =>
    [
        new("a", 1000, Grid, [0, 0.01, 0.05, 0.1, 0.2], null),
        new("b", 100, Grid, [0, 0.02, 0.1, 0.2, 0.4], null),
    ];

    [Fact]
    public void Choose_FindsTheSparsestLevelWithinTheTolerance_ByBisection()
    {
        var search = new AutoLevel(Curves(), budgetPp: 0.3);
        Assert.Equal(new[] { 0.01, 0.02, 0.05, 0.1, 0.2, 0.4 }, search.Candidates);
        int probes = 0;
        // Probe drop 2 pp per unit of relative error: levels up to 0.15 are within 0.3 pp -> the candidate 0.1.
        var alloc = search.Choose(level => { probes++; return 2 * level; });
        Assert.Equal(0.1, search.Level);
        Assert.Equal(3, search.Chosen);
        Assert.Equal(0.9, alloc["a"]);   // a's error at 90 % is 0.1
        Assert.Equal(0.8, alloc["b"]);   // b's at 80 % is 0.1, at 90 % 0.2 > 0.1
        Assert.InRange(probes, 1, 3);    // ceil(log2(7)) probes for 6 candidates
        Assert.False(search.Pending);
    }

    [Fact]
    public void BackOff_SubtractsTheProbesShortfall_SoTheNextAttemptPasses()
    {
        // A model whose retrained attempts lose 0.25 pp more than their probes (the margin and quantisation, say):
        // the first choice (probe within 0.3 pp) fails, the backed-off one (probe within 0.3 - 0.25) passes.
        const double budget = 0.3, shortfall = 0.25;
        static double Probe(double level) => 2 * level;
        var search = new AutoLevel(Curves(), budget);
        search.Choose(Probe);
        double observed = Probe(search.Level) + shortfall;
        Assert.True(observed > budget);
        int first = search.Chosen;
        Assert.True(search.BackOff(observed));
        Assert.True(search.Pending);
        Assert.Equal(budget - shortfall, search.TolerancePp, 9);
        search.Choose(Probe);
        Assert.True(search.Chosen < first);
        Assert.True(Probe(search.Level) + shortfall <= budget, $"level {search.Level}");
        Assert.Equal(0.02, search.Level); // the sparsest candidate with a probe within 0.05 pp
    }

    [Fact]
    public void BackOff_UsesTheLatestShortfall_NotASumOverAttempts()
    {
        static double Probe(double level) => 2 * level;
        var search = new AutoLevel(Curves(), budgetPp: 0.3);
        search.Choose(Probe);                               // level 0.1, probe 0.2
        search.BackOff(Probe(search.Level) + 0.15);         // gap 0.15 -> tolerance 0.15
        Assert.Equal(0.15, search.TolerancePp, 9);
        search.Choose(Probe);                               // level 0.05, probe 0.1
        Assert.Equal(0.05, search.Level);
        search.BackOff(Probe(search.Level) + 0.25);         // gap 0.25 -> tolerance 0.05 (not 0.15 - 0.25)
        Assert.Equal(0.05, search.TolerancePp, 9);
        search.Choose(Probe);
        Assert.Equal(0.02, search.Level);                   // probe 0.04: the sparsest within 0.05 below 0.05
    }

    [Fact]
    public void TwoSided_TheFirstAttemptIsTheInterpolatedAllocation_AndAPassMovesSparser()
    {
        var curves = Curves();
        double Bytes(double level) => 1000 * GlobalAllocation.At(curves, level).Sum(kv => 1 - kv.Value) + 10;
        var search = new AutoLevel(curves, budgetPp: 0.3, Bytes);
        var alloc = search.Choose(level => 4 * level);                // probes within 0.3 pp up to 0.075: the candidate 0.05
        Assert.Equal(0.05, search.Level);
        Assert.Equal(GlobalAllocation.At(curves, 0.05), alloc);       // b between its grid points 50 % (0.02) and 80 % (0.1)
        Assert.Equal(0.5 + 0.3 * 0.03 / 0.08, alloc["b"], 9);
        Assert.True(search.Advance(0.1));                              // passes: a sparser attempt is scheduled
        Assert.True(search.Pending);
        Assert.True(search.AttemptLevel > 0.05);
        Assert.Equal(Bytes(0.05) / search.Search!.Growth, Bytes(search.AttemptLevel), 1e-6);
        Assert.Equal(GlobalAllocation.At(curves, search.AttemptLevel), search.AttemptAllocation);
        search.Applied();
        Assert.False(search.Pending);
    }

    [Fact]
    public void BackOff_FromTheDenseModel_GivesUp()
    {
        var search = new AutoLevel(Curves(), budgetPp: 0.3);
        var alloc = search.Choose(_ => 5.0); // every level is over
        Assert.Equal(-1, search.Chosen);
        Assert.All(alloc.Values, s => Assert.Equal(0, s));
        Assert.False(search.BackOff(1.0));
    }

    [Fact]
    public void AutoSparsity_ThroughTheCompressor_ProbesOnTheModel_AndKeepsItsBudget()
    {
        var data = SyntheticData.Blobs(256, 4, 1, 8, 8, 11);
        var b = new NetBuilder([1, 8, 8], new Rng(5));
        var v = b.Op("flatten", "flatten", b.Input, new() { ["start_axis"] = 1 });
        v = b.Op("r1", "relu", b.Linear("fc1", v, 64));
        var net = b.Finish(b.Linear("fc2", v, 4));
        var before = net.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var recipe = RecipeLoader.Parse("""
            version: 1
            name: t
            components:
              p: {type: magnitude-pruning, sparsity: auto, criterion: obs, max_drop: 1, calibration_samples: 128, layers: [{match: "*.bias", skip: true}]}
            policies:
              - {component: p, start_epoch: 0, end_epoch: 2, frequency: 1}
            """, "t.yaml");
        var dir = Directory.CreateTempSubdirectory("autolevel").FullName;
        try
        {
            var log = new List<string>();
            var r = Compressor.Run(new CompressionJob
            {
                Model = new LoadedModel(net, new Dictionary<string, string>()), Recipe = recipe,
                Train = data, Validation = data, Test = data, OutPath = Path.Combine(dir, "t.dsz"), Log = log.Add,
            });
            var search = r.Context.AutoLevels["p"];
            Assert.NotEmpty(search.Probes);
            Assert.Contains(log, l => l.Contains("probe drop", StringComparison.Ordinal));
            // The chosen level's probe was within the budget, and the written model keeps it.
            if (search.Chosen >= 0) Assert.True(search.Probes[search.Chosen] <= 1.0);
            Assert.True(r.DropPp <= 1.0, $"drop {r.DropPp}");
            Assert.True(r.Context.Masks.Sparsity("fc1.weight") > 0.5, $"fc1 sparsity {r.Context.Masks.Sparsity("fc1.weight")}");
            Assert.NotEqual(before["fc1.weight"], r.Model.StateDict()["fc1.weight"].ToArray());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void TwoSided_ThroughTheCompressor_WritesTheKeptAttempt_WithinItsValidationBudget()
    {
        var data = SyntheticData.Blobs(256, 4, 1, 8, 8, 11);
        var b = new NetBuilder([1, 8, 8], new Rng(5));
        var v = b.Op("flatten", "flatten", b.Input, new() { ["start_axis"] = 1 });
        v = b.Op("r1", "relu", b.Linear("fc1", v, 64));
        var net = b.Finish(b.Linear("fc2", v, 4));
        var recipe = RecipeLoader.Parse("""
            version: 1
            name: t
            components:
              p: {type: magnitude-pruning, sparsity: auto, search: two-sided, attempts: 4, margin: 0, max_drop: 1, calibration_samples: 128, layers: [{match: "*.bias", skip: true}]}
              q: {type: weight-sharing, bits: {conv: 8, fc: 4}, centroid_step: mean, layers: [{match: "*.bias", skip: true}]}
              e: {type: huffman, index_bits: {conv: auto, fc: auto}}
            policies:
              - {component: p, start_epoch: 0, end_epoch: 2, frequency: 1}
              - {component: q, start_epoch: 2, end_epoch: 3}
              - {component: e, start_epoch: 3}
            """, "t.yaml");
        var dir = Directory.CreateTempSubdirectory("twosided").FullName;
        try
        {
            var log = new List<string>();
            var r = Compressor.Run(new CompressionJob
            {
                Model = new LoadedModel(net, new Dictionary<string, string>()), Recipe = recipe,
                Train = data, Validation = data, Test = data, OutPath = Path.Combine(dir, "t.dsz"), Log = log.Add,
            });
            var ctx = r.Context;
            Assert.InRange(ctx.Attempts.Count, 2, 4);                       // the first passes or not; the search goes on either way
            Assert.Contains(log, l => l.StartsWith("level search", StringComparison.Ordinal));
            var kept = ctx.Attempts.Single(a => a.Attempt == ctx.KeptAttempt);
            if (ctx.Attempts.Any(a => a.Passed))
            {
                Assert.True(kept.Passed);                                    // never an over-budget attempt when one passed
                Assert.Equal(ctx.Attempts.Where(a => a.Passed).Max(a => a.Targets["fc1.weight"]), kept.Targets["fc1.weight"]); // the sparsest passing
            }
            // The written file holds the kept attempt's model: its sparsity and the plan are that attempt's.
            Assert.Equal(kept.Targets["fc1.weight"], ctx.Plans["fc1.weight"].TargetSparsity, 9);
            var file = DeepShrink.Format.DszFile.Read(r.OutPath);
            var decoded = ModelIO.LoadDsz(file, DeepShrink.Compression.Quantization.InputHooks.Factories).Model.StateDict()["fc1.weight"].ToArray();
            double zeros = decoded.Count(x => x == 0f) / (double)decoded.Length;
            Assert.Equal(kept.Targets["fc1.weight"], zeros, 2);
        }
        finally { Directory.Delete(dir, true); }
    }
}

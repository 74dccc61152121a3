using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Pruning;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Nn;
using DeepShrink.Nn.IO;

namespace DeepShrink.Compression.Tests;

/// <summary>Pruning criteria (magnitude, OBD, OBS) and global params/bytes targets through recipes and the Compressor.</summary>
public class GlobalTargetTests
{
    private static readonly ImageDataset Data = SyntheticData.Blobs(256, 4, 1, 8, 8, 11);

    /// <summary>A small LeNet-300-100: flatten -> fc1 -> fc2 -> fc3 on [1, 8, 8] samples.</summary>
    internal static GraphModule Net()
    {
        var b = new NetBuilder([1, 8, 8], new Rng(5));
        var v = b.Op("flatten", "flatten", b.Input, new() { ["start_axis"] = 1 });
        v = b.Op("r1", "relu", b.Linear("fc1", v, 96));
        v = b.Op("r2", "relu", b.Linear("fc2", v, 48));
        return b.Finish(b.Linear("fc3", v, 4));
    }

    private static CompressionResult Run(string pruner, string dir, string name, bool share = true)
    {
        var recipe = RecipeLoader.Parse($$"""
            version: 1
            name: t
            components:
              p: {type: magnitude-pruning, max_drop: 100, calibration_samples: 128, {{pruner}}, layers: [{match: "*.bias", skip: true}]}
            {{(share ? "  q: {type: weight-sharing, bits: {fc: 4}, layers: [{match: \"*.bias\", skip: true}]}" : "")}}
              e: {type: huffman, index_bits: {fc: auto}, bias_codec: f16}
            policies:
              - {component: p, start_epoch: 0, end_epoch: 2, frequency: 1}
            {{(share ? "  - {component: q, start_epoch: 2}" : "")}}
              - {component: e, start_epoch: 2}
            """, name + ".yaml");
        return Compressor.Run(new CompressionJob
        {
            Model = new LoadedModel(Net(), new Dictionary<string, string>()), Recipe = recipe,
            Train = Data, Validation = Data, Test = Data, OutPath = Path.Combine(dir, name + ".dsz"),
        });
    }

    [Fact]
    public void Criterion_IsParsed_AndNonsenseIsRejectedByName()
    {
        const string yaml = """
            version: 1
            components:
              p: {type: magnitude-pruning, sparsity: 0.5, criterion: CRIT}
            policies:
              - {component: p, start_epoch: 0}
            """;
        Assert.Equal(OneShotCriterion.Obs, RecipeLoader.Parse(yaml.Replace("CRIT", "obs"), "x.yaml").Find<PruningSpec>()!.Criterion);
        Assert.Equal(OneShotCriterion.ObdLayerwise, RecipeLoader.Parse(yaml.Replace("CRIT", "obd"), "x.yaml").Find<PruningSpec>()!.Criterion);
        var e = Assert.Throws<RecipeFormatException>(() => RecipeLoader.Parse(yaml.Replace("CRIT", "hessian"), "x.yaml"));
        Assert.Contains("criterion", e.Message);
        var t = Assert.Throws<RecipeFormatException>(() => RecipeLoader.Parse(yaml.Replace("criterion: CRIT", "target: {bytes: 0.1}"), "x.yaml"));
        Assert.Contains("target", t.Message);
        var both = Assert.Throws<RecipeFormatException>(() => RecipeLoader.Parse(yaml.Replace("sparsity: 0.5, criterion: CRIT", "target: {bytes: 0.1, params: 0.1}"), "x.yaml"));
        Assert.Contains("exactly one", both.Message);
    }

    // One-shot (no retraining epochs): OBS re-fits the surviving weights, so fc1's output on the training images
    // moves less than under magnitude pruning at the same sparsity, and kept weights change.
    [Fact]
    public void ObsCriterion_ThroughTheRecipe_CompensatesWithTheSurvivingWeights()
    {
        var dir = Directory.CreateTempSubdirectory("ds-crit-").FullName;
        try
        {
            var dense = Net().StateDict()["fc1.weight"].ToArray();
            double Error(string criterion)
            {
                var recipe = RecipeLoader.Parse($$"""
                    version: 1
                    components:
                      p: {type: magnitude-pruning, sparsity: 0.8, criterion: {{criterion}}, max_drop: 100, calibration_samples: 256, layers: [{match: "*.bias", skip: true}]}
                    policies:
                      - {component: p, start_epoch: 0}
                    """, criterion + ".yaml");
                var r = Compressor.Run(new CompressionJob
                {
                    Model = new LoadedModel(Net(), new Dictionary<string, string>()), Recipe = recipe,
                    Train = Data, Validation = Data, Test = Data, OutPath = Path.Combine(dir, criterion + ".dsz"),
                });
                var w = r.Model.StateDict()["fc1.weight"].ToArray();
                Assert.Equal((int)Math.Round(0.8 * w.Length), w.Count(v => v == 0f));
                if (criterion == "obs") Assert.Contains(Enumerable.Range(0, w.Length), i => w[i] != 0f && w[i] != dense[i]);
                else Assert.All(Enumerable.Range(0, w.Length), i => Assert.True(w[i] == 0f || w[i] == dense[i]));
                double err = 0;
                var x = Data.Images.ToArray(); // [n, 64]
                for (int n = 0; n < Data.Count; n++)
                    for (int o = 0; o < 96; o++)
                    {
                        double d = 0;
                        for (int j = 0; j < 64; j++) d += (w[o * 64 + j] - dense[o * 64 + j]) * x[n * 64 + j];
                        err += d * d;
                    }
                return err;
            }
            double mag = Error("magnitude"), obd = Error("obd"), obs = Error("obs");
            Assert.True(obs < 0.7 * mag, $"OBS layer error {obs:G4} vs magnitude {mag:G4}");
            Assert.True(obs < obd, $"OBS layer error {obs:G4} vs OBD {obd:G4}");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("bytes", 0.1)]
    [InlineData("params", 0.2)]
    public void GlobalTarget_IsDistributedOverLayers_AndKeptByTheWrittenFile(string kind, double fraction)
    {
        var dir = Directory.CreateTempSubdirectory("ds-target-").FullName;
        try
        {
            var r = Run($"target: {{{kind}: {fraction}}}, criterion: obs", dir, kind);
            double reached = kind == "bytes" ? (double)new FileInfo(r.OutPath).Length / r.DenseBytes
                : r.Model.NamedParameters().Sum(p => p.Param.ToArray().Count(v => v != 0f)) / (double)r.Model.NamedParameters().Sum(p => p.Param.Size);
            Assert.True(reached <= fraction, $"{kind} reached {reached:G4} > target {fraction}");
            Assert.True(reached > fraction / 3, $"{kind} reached {reached:G4}: far below the target {fraction} (allocation too conservative)");
            // The size model measures index streams and writes a real header: a bytes target is met closely, not by a
            // wide conservative margin (the geometric-gap model reached 0.065 of 0.1 here, the measured one 0.087).
            if (kind == "bytes") Assert.True(reached > 0.8 * fraction, $"bytes reached {reached:G4}: the size model over-predicts the file by more than 25 %");
            var plans = r.Context.Plans;
            Assert.All(new[] { "fc1.weight", "fc2.weight", "fc3.weight" }, n => Assert.Equal("target", plans[n].Source));
            // Layers are not all pruned alike: the allocation follows each layer's error curve.
            Assert.True(plans.Values.Select(p => Math.Round(p.TargetSparsity, 3)).Distinct().Count() > 1);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ImpossibleTarget_GivesAClearError_AndWritesNothing()
    {
        var dir = Directory.CreateTempSubdirectory("ds-target-").FullName;
        try
        {
            // The skipped biases alone are more than 0.1 % of the parameters.
            var e = Assert.Throws<RecipeFormatException>(() => Run("target: {params: 0.001}", dir, "impossible"));
            Assert.Contains("unreachable", e.Message);
            Assert.DoesNotContain('\n', e.Message);
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void EqualErrorAllocation_MeetsABudget_WithTheSmallestError()
    {
        var a = new LayerErrorCurve("a", 1000, [0, 0.5, 0.9], [0, 0.01, 0.1], null);
        var b = new LayerErrorCurve("b", 100, [0, 0.5, 0.9], [0, 0.2, 0.5], null);
        // Keep at most 300 of 1100: a (cheap) gives up more weights than b.
        double? eps = GlobalAllocation.Solve([a, b], s => 1000 * (1 - s["a"]) + 100 * (1 - s["b"]), 300);
        Assert.NotNull(eps);
        var alloc = GlobalAllocation.At([a, b], eps.Value);
        Assert.InRange(1000 * (1 - alloc["a"]) + 100 * (1 - alloc["b"]), 299, 300.001);
        Assert.True(alloc["a"] > alloc["b"]);
        Assert.Null(GlobalAllocation.Solve([a, b], s => 1000 * (1 - s["a"]) + 100 * (1 - s["b"]), 50));
    }
}

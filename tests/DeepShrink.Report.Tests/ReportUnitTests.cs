using DeepShrink.Cli.Infrastructure;
using DeepShrink.Compression;
using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Sensitivity;
using DeepShrink.Report;

namespace DeepShrink.Report.Tests;

public class ReportUnitTests
{
    [Fact]
    public void Histogram_CountsZerosApart_AndEveryNonzeroInOneBin()
    {
        float[] w = [0f, 0f, -1f, -0.5f, 0.25f, 1f, 0f, 0.999f];
        var h = WeightHistogram.Of("fc.weight", w, 4);
        Assert.Equal(8, h.Count);
        Assert.Equal(3, h.Zeros);
        Assert.Equal(-1, h.Min);
        Assert.Equal(1, h.Max);
        Assert.Equal(5, h.Counts.Sum());
        Assert.Equal([1L, 1L, 1L, 2L], h.Counts); // bins of width 0.5: [-1,-0.5) [-0.5,0) [0,0.5) [0.5,1]
        Assert.Equal(-0.75, h.Center(0), 12);
    }

    [Fact]
    public void ParetoFront_KeepsOnlyPointsNothingElseBeats()
    {
        var front = Plots.ParetoFront([(10, 0.80), (20, 0.85), (15, 0.79), (30, 0.84), (5, 0.70), (20, 0.86)]);
        Assert.Equal([(5.0, 0.70), (10.0, 0.80), (20.0, 0.86)], front);
    }

    [Fact]
    public void Energy_IsTheStatedCostModel_DenseAgainstStored()
    {
        var layers = new[]
        {
            new EnergyLayer("fc1", Macs: 1000, Parameters: 1000, Nonzeros: 100, StoredBytes: 80, Codec: "sparse-codebook"),
            new EnergyLayer("fc2", Macs: 400, Parameters: 400, Nonzeros: 400, StoredBytes: 400, Codec: "int8"),
            new EnergyLayer("relu", Macs: 0, Parameters: 0, Nonzeros: 0, StoredBytes: 0, Codec: "dense-f32"),
        };
        var dense = EnergyEstimate.Dense(layers);
        Assert.Equal(4 * 1400, dense.WeightBytes);
        Assert.Equal(1400, dense.MacsByPrecision["fp32"]);
        Assert.Equal(1400 * 4.6, dense.ComputePicojoules, 6);
        Assert.Equal(1400 * 640, dense.DramPicojoules, 6);      // one 32-bit DRAM access per weight
        var stored = EnergyEstimate.Estimate(layers);
        Assert.Equal(480, stored.WeightBytes);
        Assert.Equal(100, stored.MacsByPrecision["fp32"]);      // pruned MACs skipped
        Assert.Equal(400, stored.MacsByPrecision["int8"]);
        Assert.Equal(100 * 4.6 + 400 * 0.23, stored.ComputePicojoules, 6);
        Assert.Equal(480 / 4.0 * 640, stored.DramPicojoules, 6);
        Assert.Equal(480 / 4.0 * 5, stored.SramPicojoules, 6);
        Assert.True(stored.DramMicrojoules < dense.DramMicrojoules / 10);
    }

    [Fact]
    public void Trace_RoundTripsThroughTheRunJson()
    {
        var trace = new CompressionTrace { Bins = 8 };
        var model = DeepShrink.Nn.Zoo.ModelZoo.Create("lenet-300-100", new DeepShrink.Nn.Zoo.ModelConfig(), new DeepShrink.Core.Rng(1));
        trace.Snapshot("before pruner", model);
        trace.Sensitivity.Add(new SensitivityCurve("fc1.weight", [0.5, 0.9], [0.8, 0.6], 0.85));
        trace.Codebooks["fc1.weight"] = [-0.1f, 0.2f];
        var dir = Directory.CreateTempSubdirectory("deepshrink-report-").FullName;
        try
        {
            var path = Path.Combine(dir, "run.json");
            new JsonReport().Set("model", "lenet-300-100").Set("recipe", "r").Set("compressed_bytes", 1000L).Set("dense_bytes", 4000L)
                .Set("layers", JsonReport.ToNode(new[] { new Dictionary<string, object> { ["name"] = "fc1.weight", ["codec"] = "sparse-codebook", ["dense_bytes"] = 4000L, ["stored_bytes"] = 900L, ["value_bytes"] = 600L, ["index_bytes"] = 250L } }))
                .Set("plan", JsonReport.ToNode(new Dictionary<string, object> { ["fc1.weight"] = new Dictionary<string, object> { ["target_sparsity"] = 0.7 } }))
                .Set("trace", JsonReport.ToNode(trace.ToDictionary())).WriteIfRequested(path);
            var run = RunData.FromJson(path);
            Assert.Equal(3, run.Snapshots[0].Layers.Count);
            Assert.Equal(trace.Snapshots[0].Layers[0].Counts, run.Snapshots[0].Layers[0].Counts);
            Assert.Equal(0.7, run.Sensitivity[0].Chosen);
            Assert.Equal([-0.1f, 0.2f], run.Codebooks["fc1.weight"]);
            Assert.Equal(new TensorBytes("fc1.weight", "sparse-codebook", 4000, 600, 250, 50), run.Tensors[0]);
            Assert.Equal(100, run.ContainerBytes);
        }
        finally { Directory.Delete(dir, true); }
    }
}

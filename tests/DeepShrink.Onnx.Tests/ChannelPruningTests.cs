using DeepShrink.Compression;
using DeepShrink.Compression.Pruning.Channels;
using DeepShrink.Compression.Quantization;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Core.Graph;
using DeepShrink.Data;
using DeepShrink.Nn;
using DeepShrink.Nn.IO;
using DeepShrink.Runtime;
using static DeepShrink.Onnx.Tests.OnnxTestUtil;

namespace DeepShrink.Onnx.Tests;

/// <summary>Structured channel pruning: dependency groups, physical removal equal to masking, ONNX export, budgets, least squares.</summary>
public class ChannelPruningTests
{
    // A graph with every coupling the analysis handles: a residual add, a depthwise conv (multiplier 2), a concat,
    // batch norms, a stride-2 conv, pooling and the flatten -> linear boundary.
    private static (ModelGraph Graph, Dictionary<string, Tensor> Tensors) Net(ulong seed)
    {
        var b = new NetBuilder([3, 12, 12], new Rng(seed));
        var a = b.Op("relu_a", "relu", b.BatchNorm("bn_a", b.Conv("conv_a", b.Input, 8, 3, padding: 1, bias: false)));
        var h = b.BatchNorm("bn_b", b.Conv("conv_b", a, 8, 3, padding: 1));
        var r = b.Op("relu_r", "relu", b.Op("add", "add", [h, a]));
        var dw = b.Op("relu_dw", "relu", b.Conv("conv_dw", r, 16, 3, padding: 1, groups: 8));
        var p = b.Conv("conv_p", r, 6, 1);
        var cat = b.Op("cat", "concat", [dw, p], new() { ["axis"] = 1 });
        var e = b.Op("pool", "maxpool2d", b.Op("relu_e", "relu", b.Conv("conv_e", cat, 10, 3, stride: 2, padding: 1)), new() { ["kernel"] = 2 });
        var f = b.Op("relu_fc1", "relu", b.Linear("fc1", b.Op("flatten", "flatten", e, new() { ["start_axis"] = 1 }), 16));
        var model = b.Finish(b.Linear("fc2", f, 5));
        var tensors = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ContiguousData().Clone());
        var rng = new Rng(seed + 1);
        foreach (var (name, t) in tensors.Where(kv => kv.Key.StartsWith("bn_", StringComparison.Ordinal)))
        {
            var s = t.Span;
            for (int i = 0; i < s.Length; i++) s[i] = name.EndsWith("var", StringComparison.Ordinal) ? 0.5f + rng.NextFloat() : rng.NextFloat() - 0.3f;
        }
        return (model.ToGraph(), tensors);
    }

    private static Tensor Run(ModelGraph g, IReadOnlyDictionary<string, Tensor> t, Tensor x)
        => Forward(GraphLayers.FromTensors(g, t, InputHooks.Factories), x);

    private static ChannelDependencies Analyze(ModelGraph g, IReadOnlyDictionary<string, Tensor> t)
        => ChannelDependencies.Analyze(g, n => t.TryGetValue(n, out var v) ? v.Shape : null);

    [Fact]
    public void Dependencies_CoupleResidualConcatDepthwiseAndFlatten()
    {
        var (g, t) = Net(1);
        var d = Analyze(g, t);
        string Out(string node) => g.Find(node)!.Output;
        // residual: conv_a and conv_b channel c are one unit, read by conv_b, conv_p and (through conv_dw) nothing else
        var u = d.UnitOf(Out("conv_a"), 3);
        Assert.Same(u, d.UnitOf(Out("conv_b"), 3));
        Assert.Equal(["conv_a", "conv_b"], u.Producers.Select(p => p.Node.Name).Order());
        Assert.Contains(u.Consumers, c => c.Node.Name == "conv_p" && c.Channel == 3);
        // depthwise multiplier 2: input channel 3 feeds outputs 6 and 7, which land at concat channels 6, 7
        Assert.Same(u, d.UnitOf(Out("conv_dw"), 6));
        Assert.Same(u, d.UnitOf(Out("conv_dw"), 7));
        Assert.Same(u, d.UnitOf(Out("cat"), 7));
        // concat: conv_p channel 2 is concat channel 16 + 2
        Assert.Same(d.UnitOf(Out("conv_p"), 2), d.UnitOf(Out("cat"), 18));
        // flatten: conv_e channel c becomes 3 x 3 columns of fc1
        var fe = d.UnitOf(Out("conv_e"), 4);
        Assert.Contains(fe.Consumers, c => c.Node.Name == "fc1" && c.Channel == 4 && c.Block == 9);
        // the logits and the input are fixed
        Assert.True(d.UnitOf(Out("fc2"), 0).Fixed);
        Assert.True(d.UnitOf(g.Input, 0).Fixed);
        Assert.Equal(8 + 6 + 10 + 16, d.Units.Count(x => x.Prunable));
    }

    [Fact]
    public void RemovingChannels_GivesTheMaskedModelsOutput_AndExportsToOnnx()
    {
        var (g, t) = Net(2);
        var d = Analyze(g, t);
        var rng = new Rng(9);
        // remove about half of every group, never all
        var removed = new HashSet<int>();
        foreach (var (_, units) in d.Groups())
            foreach (var u in units.OrderBy(_ => rng.NextFloat()).Take(units.Count / 2)) removed.Add(u.Id);
        var x = Tensor.Randn(new Rng(3), 1f, 4, 3, 12, 12);
        var masked = Run(g, ChannelRemoval.Mask(d, t, removed), x);
        var (pg, pt) = ChannelRemoval.Apply(d, t, removed);
        var pruned = Run(pg, pt, x);
        Assert.True(MaxAbsDiff(masked.Span, pruned.Span) <= 1e-5f, $"pruned vs masked: {MaxAbsDiff(masked.Span, pruned.Span)}");
        Assert.True(MaxAbsDiff(masked.Span, Run(g, t, x).Span) > 1e-3f); // removal did change the function
        Assert.Equal(4, pg.Find("conv_dw")!.Int("groups", 0));
        Assert.Equal(8, pg.Find("conv_dw")!.Int(ChannelRemoval.DenseChannelsAttr, 0) / 2);
        Assert.Equal([8, 5 * 3 * 3], pt["fc1.weight"].Shape); // half of fc1's outputs, 5 of conv_e's 10 channels x 3 x 3
        long before = t.Values.Sum(v => (long)v.Size), after = pt.Values.Sum(v => (long)v.Size);
        Assert.True(after < before * 0.6, $"{after} of {before}");

        using var dir = new TempDir();
        var onnx = dir.File("pruned.onnx");
        File.WriteAllBytes(onnx, OnnxExporter.ToBytes(pg, pt));
        using var ort = new OnnxSession(onnx, threads: 1);
        var (got, shape) = ort.Run(x.Span.ToArray(), 4);
        Assert.Equal(pruned.Shape, shape);
        Assert.True(MaxAbsDiff(pruned.Span, got) <= 1e-4f, $"onnx runtime vs ours: {MaxAbsDiff(pruned.Span, got)}");
    }

    [Fact]
    public void GlobalBudget_IsMetExactly_AndAnImpossibleTargetIsAClearError()
    {
        var (g, t) = Net(3);
        var d = Analyze(g, t);
        var imp = ChannelImportance.Magnitude(d, t, 1);
        Func<string, int[]?> shape = n => t.TryGetValue(n, out var v) ? v.Shape : null;
        var dense = ChannelRemoval.Cost(d, shape, new HashSet<int>(), t.Keys);
        var removed = ChannelSelection.Select(d, imp, _ => 1, r => ChannelRemoval.Cost(d, shape, r, t.Keys).Macs, 0.5 * dense.Macs, "flops 0.5");
        var (pg, pt) = ChannelRemoval.Apply(d, t, removed);
        long macs = GraphAnalysis.TotalMacs(pg, n => pt[n].Shape);
        Assert.True(macs <= 0.5 * dense.Macs, $"{macs} > half of {dense.Macs}");
        Assert.Equal(ChannelRemoval.Cost(d, shape, removed, t.Keys).Macs, macs);
        // one unit fewer would miss the target: the prefix is the shortest
        Assert.True(removed.Count > 0);

        var e = Assert.Throws<ChannelSelection.UnreachableTargetException>(() =>
            ChannelSelection.Select(d, imp, grp => d.Groups()[grp].Count / 2, r => ChannelRemoval.Cost(d, shape, r, t.Keys).Params, 0.01 * dense.Params, "params 0.01"));
        Assert.Contains("cannot reach params 0.01", e.Message);
    }

    [Fact]
    public void ChannelMultiple_LeavesWholeTilesOfTheMostImportantUnits_WithinTheBudget()
    {
        var (g, t) = Net(5);
        var d = Analyze(g, t);
        var imp = ChannelImportance.Magnitude(d, t, 1);
        Func<string, int[]?> shape = n => t.TryGetValue(n, out var v) ? v.Shape : null;
        var dense = ChannelRemoval.Cost(d, shape, new HashSet<int>(), t.Keys);
        Func<IReadOnlySet<int>, double> macs = r => ChannelRemoval.Cost(d, shape, r, t.Keys).Macs;
        var plain = ChannelSelection.Select(d, imp, _ => 1, macs, 0.6 * dense.Macs, "flops 0.6");
        var tiled = ChannelSelection.Select(d, imp, _ => 1, macs, 0.6 * dense.Macs, "flops 0.6", multiple: 4);
        Assert.True(macs(tiled) <= 0.6 * dense.Macs);
        bool rounded = false;
        foreach (var (key, units) in d.Groups())
        {
            int before = units.Count(u => !plain.Contains(u.Id)), after = units.Count(u => !tiled.Contains(u.Id));
            Assert.True(after % 4 == 0 || (units.Count < 4 && after == before), $"group {key} keeps {after} units (before rounding {before})");
            rounded |= after != before;
            // a group keeps its most important units
            var gone = units.Where(u => tiled.Contains(u.Id)).Select(u => imp[u.Id]).DefaultIfEmpty(double.NegativeInfinity).Max();
            var stays = units.Where(u => !tiled.Contains(u.Id)).Select(u => imp[u.Id]).DefaultIfEmpty(double.PositiveInfinity).Min();
            Assert.True(gone <= stays, $"group {key}: removed a unit more important than one kept");
        }
        Assert.True(rounded, "the budget alone already left whole tiles: the test shows nothing");
        var (pg, pt) = ChannelRemoval.Apply(d, t, tiled);
        Assert.Equal(macs(tiled), GraphAnalysis.TotalMacs(pg, n => pt[n].Shape));
        // a budget that whole tiles cannot meet (every group would have to go below its floor) is a clear error
        var e = Assert.Throws<ChannelSelection.UnreachableTargetException>(() =>
            ChannelSelection.Select(d, imp, grp => d.Groups()[grp].Count - 1, macs, 0.9 * dense.Macs, "flops 0.9", multiple: 4));
        Assert.Contains("multiples of 4", e.Message);
    }

    [Theory]
    [InlineData("target: {params: 0.5, flops: 0.5}", "exactly one")]
    [InlineData("target: {flops: 0.5, latency: 0.5}", "exactly one")]
    [InlineData("target: {latency: 0}", "latency")]
    [InlineData("target: {flops: 1.5}", "flops")]
    [InlineData("criterion: l3\n    target: {flops: 0.5}", "criterion")]
    [InlineData("slimming_l1: 0.001\n    target: {flops: 0.5}", "slimming_l1")]
    [InlineData("target: {flops: 0.5}\n    bogus: 1", "bogus")]
    public void BadRecipeFields_AreOneLineErrorsNamingTheKey(string fields, string expected)
    {
        var yaml = $"version: 1\ncomponents:\n  pruner:\n    type: channel-pruning\n    {fields}\npolicies:\n  - {{component: pruner, start_epoch: 0}}\n";
        var e = Assert.ThrowsAny<Exception>(() => RecipeLoader.Parse(yaml, "bad.yaml"));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void LeastSquaresRefit_RecoversAKnownAnswer()
    {
        // x3 = 2 x0 - x1 exactly: removing column 3 loses nothing, W' = W[:, :3] + W[:, 3] * [2, -1, 0]
        var rng = new Rng(5);
        int n = 200, cols = 4, rows = 3;
        var h = new double[cols * cols];
        for (int s = 0; s < n; s++)
        {
            var x = new double[cols];
            for (int j = 0; j < 3; j++) x[j] = rng.NextFloat() * 2 - 1;
            x[3] = 2 * x[0] - x[1];
            for (int i = 0; i < cols; i++) for (int j = 0; j < cols; j++) h[i * cols + j] += 2 * x[i] * x[j] / n;
        }
        float[] w = [1, 2, 3, 4, -1, 0.5f, 0, 2, 0.25f, -3, 1, -0.5f];
        var fit = ChannelReconstruction.Refit(w, rows, cols, h, [0, 1, 2]);
        for (int r = 0; r < rows; r++)
        {
            Assert.Equal(w[r * 4 + 0] + 2 * w[r * 4 + 3], fit[r * 3 + 0], 3);
            Assert.Equal(w[r * 4 + 1] - w[r * 4 + 3], fit[r * 3 + 1], 3);
            Assert.Equal(w[r * 4 + 2], fit[r * 3 + 2], 3);
        }
    }

    [Theory]
    [InlineData("l1", "flops", "")]
    [InlineData("taylor", "params", "")]
    [InlineData("reconstruction", "flops", "")]
    [InlineData("bn-scale", "flops", "slimming_l1: 0.05, ")]
    public void TheRecipeComponent_MeetsItsTarget_AndTheFileRunsInTheRuntime(string criterion, string target, string extra)
    {
        var (graph, tensors) = Net(4);
        var all = SyntheticData.Blobs(600, 5, 3, 12, 12, 11, noise: 0.4f);
        var train = all.Subset(Enumerable.Range(0, 500).ToArray());
        var test = all.Subset(Enumerable.Range(500, 100).ToArray());
        var recipe = RecipeLoader.Parse($$"""
            version: 1
            training: {lr: 0.02, batch_size: 50}
            components:
              pruner: {type: channel-pruning, criterion: {{criterion}}, {{extra}}target: {{{target}}: 0.5}, calibration_batches: 2, max_drop: 100}
            policies:
              - {component: pruner, start_epoch: 1, end_epoch: 3, frequency: 1}
            """, "cp-test.yaml");
        using var dir = new TempDir();
        var model = GraphLayers.FromTensors(graph, tensors, InputHooks.Factories);
        long denseParams = model.ParameterCount(), denseMacs = GraphAnalysis.TotalMacs(graph, n => tensors[n].Shape);
        var result = Compressor.Run(new CompressionJob
        {
            Model = new LoadedModel(model, new Dictionary<string, string>()), Recipe = recipe,
            Train = train, Validation = test, Test = test, OutPath = dir.File("m.dsz"), Seed = 7,
        });
        Assert.True(result.GraphChanged);
        var state = result.Model.StateDict();
        double kept = target == "params" ? result.Model.ParameterCount() / (double)denseParams
            : GraphAnalysis.TotalMacs(result.Model.ToGraph(), n => state[n].Shape) / (double)denseMacs;
        Assert.InRange(kept, 0.3, 0.5);
        var loaded = ModelIO.Load(dir.File("m.dsz"), InputHooks.Factories);
        var x = Compressor.Ordered(test).First().X;
        float[] want;
        using (Engine.NoGrad()) want = loaded.Model.Eval().Forward(x).ToArray();
        var got = InferenceModel.Load(dir.File("m.dsz")).Run(x.ToArray(), x.Shape[0]);
        Assert.True(MaxAbsDiff(want, got) <= 1e-4f, $"runtime vs trainer {MaxAbsDiff(want, got)}");
    }

    [Fact]
    public void AnUnreachableTarget_FailsBeforeAnyTraining_AndWritesNothing()
    {
        var (graph, tensors) = Net(5);
        var data = SyntheticData.Blobs(100, 5, 3, 12, 12, 11, noise: 0.4f);
        var recipe = RecipeLoader.Parse("""
            version: 1
            components:
              pruner: {type: channel-pruning, target: {params: 0.001}, max_layer_prune: 0.5}
            policies:
              - {component: pruner, start_epoch: 0, end_epoch: 3, frequency: 1}
            """, "impossible.yaml");
        using var dir = new TempDir();
        int epochs = 0;
        var e = Assert.Throws<ChannelSelection.UnreachableTargetException>(() => Compressor.Run(new CompressionJob
        {
            Model = new LoadedModel(GraphLayers.FromTensors(graph, tensors, InputHooks.Factories), new Dictionary<string, string>()),
            Recipe = recipe, Train = data, Validation = data, Test = data, OutPath = dir.File("m.dsz"), OnEpoch = _ => epochs++,
        }));
        Assert.Contains("cannot reach params 0.001", e.Message);
        Assert.Equal(0, epochs);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    /// <summary>A stand-in for the runtime: latency = fixed + per-MAC share of the baseline's (ms); the final check can be made slower.</summary>
    private sealed class MacsLatency(double fixedShare, double finalPenalty = 0) : Compression.Pipeline.ILatencyMeter
    {
        private GraphModule? _planningBaseline;
        public int Calls { get; private set; }

        public Compression.Pipeline.LatencyComparison Compare(GraphModule baseline, GraphModule candidate)
        {
            Calls++;
            _planningBaseline ??= baseline;
            double Macs(GraphModule m) { var st = m.StateDict(); return GraphAnalysis.TotalMacs(m.ToGraph(), n => st[n].Shape); }
            double ratio = fixedShare + (1 - fixedShare) * Macs(candidate) / Macs(baseline);
            if (!ReferenceEquals(baseline, _planningBaseline)) ratio += finalPenalty; // Compressor's check times against a copy of the input
            return new(1.0, ratio, ratio);
        }
    }

    private static Compression.Recipes.Recipe LatencyRecipe(double keep, int multiple = 1) => RecipeLoader.Parse($$"""
        version: 1
        training: {lr: 0.02, batch_size: 50}
        components:
          pruner: {type: channel-pruning, criterion: l1, target: {latency: {{keep}}}, channel_multiple: {{multiple}}, max_drop: 100}
        policies:
          - {component: pruner, start_epoch: 0, end_epoch: 2, frequency: 1}
        """, "latency.yaml");

    [Theory]
    [InlineData(1)]
    [InlineData(4)] // whole tiles of 4 channels: the floors' minimum is out of reach, the search starts where tiles allow
    public void ALatencyTarget_ChoosesTheFlopsLevelByMeasurement_AndIsCheckedOnTheResult(int multiple)
    {
        var (graph, tensors) = Net(6);
        var all = SyntheticData.Blobs(300, 5, 3, 12, 12, 11, noise: 0.4f);
        using var dir = new TempDir();
        var meter = new MacsLatency(0.2);
        var model = GraphLayers.FromTensors(graph, tensors, InputHooks.Factories);
        double denseMacs = GraphAnalysis.TotalMacs(graph, n => tensors[n].Shape);
        var result = Compressor.Run(new CompressionJob
        {
            Model = new LoadedModel(model, new Dictionary<string, string>()), Recipe = LatencyRecipe(0.6, multiple),
            Train = all, Validation = all, Test = all, OutPath = dir.File("m.dsz"), Latency = meter,
        });
        // latency 0.2 + 0.8 f <= 0.6 (1 - margin) <=> f <= 0.4775: the most FLOPs that meet it, less the bisection's and the units' granularity
        var state = result.Model.StateDict();
        double kept = GraphAnalysis.TotalMacs(result.Model.ToGraph(), n => state[n].Shape) / denseMacs;
        double limit = (0.6 * (1 - ChannelPruningMethod.LatencyMargin) - 0.2) / 0.8;
        Assert.InRange(kept, limit - (multiple == 1 ? 0.1 : 0.2), limit);
        Assert.NotNull(result.Latency);
        Assert.Equal(0.2 + 0.8 * kept, result.Latency!.Value.Ratio, 9);
        Assert.True(meter.Calls >= 4, $"bisection measured {meter.Calls} models");
        Assert.True(File.Exists(dir.File("m.dsz")));
    }

    [Fact]
    public void ALatencyTarget_UnreachableOrUnmeasurableOrMissed_IsAClearError_AndNothingIsWrittenThere()
    {
        var (graph, tensors) = Net(7);
        var data = SyntheticData.Blobs(100, 5, 3, 12, 12, 11, noise: 0.4f);
        using var dir = new TempDir();
        LoadedModel Fresh() => new(GraphLayers.FromTensors(graph, tensors, InputHooks.Factories), new Dictionary<string, string>());
        int epochs = 0;
        var far = Assert.Throws<ChannelSelection.UnreachableTargetException>(() => Compressor.Run(new CompressionJob
        {
            Model = Fresh(), Recipe = LatencyRecipe(0.5), Train = data, Validation = data, Test = data,
            OutPath = dir.File("m.dsz"), Latency = new MacsLatency(0.9), OnEpoch = _ => epochs++,
        }));
        Assert.Contains("cannot reach latency 0.5", far.Message);
        Assert.Equal(0, epochs);
        var none = Assert.Throws<InvalidOperationException>(() => Compressor.Run(new CompressionJob
        {
            Model = Fresh(), Recipe = LatencyRecipe(0.5), Train = data, Validation = data, Test = data, OutPath = dir.File("m.dsz"),
        }));
        Assert.Contains("needs a latency meter", none.Message);
        Assert.Empty(Directory.GetFiles(dir.Path));
        // the planned level meets the target, the result measures slower: over budget, kept beside the path
        var missed = Assert.Throws<BudgetNotMetException>(() => Compressor.Run(new CompressionJob
        {
            Model = Fresh(), Recipe = LatencyRecipe(0.6), Train = data, Validation = data, Test = data,
            OutPath = dir.File("m.dsz"), Latency = new MacsLatency(0.2, finalPenalty: 0.5),
        }));
        Assert.Contains("latency target not met", missed.Message);
        Assert.False(File.Exists(dir.File("m.dsz")));
        Assert.True(File.Exists(Compressor.BesidePath(dir.File("m.dsz"))));
    }
}

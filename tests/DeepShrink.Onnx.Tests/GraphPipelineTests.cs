using DeepShrink.Compression;
using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Quantization;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Core.Graph;
using DeepShrink.Data;
using DeepShrink.Format;
using DeepShrink.Nn;
using DeepShrink.Nn.IO;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Training;
using DeepShrink.Runtime;

namespace DeepShrink.Onnx.Tests;

/// <summary>
/// The one-graph design end to end: a compression method defined here (outside the library) plugs
/// in by recipe type and changes the graph's shapes; a DAG model trains, compresses, reloads from
/// its file alone and runs the same in the runtime and in ONNX Runtime.
/// </summary>
public class GraphPipelineTests
{
    private const string DropType = "test-drop-odd-channels";

    static GraphPipelineTests() => CompressionMethods.Register(DropType, ParseDrop);

    private static ComponentSpec ParseDrop(string name, YamlMap m) => new DropOddSpec(name, m.Str("node") ?? throw m.Error("node", "is required"));

    /// <summary>Toy method: removes the odd output channels of a conv (and the matching inputs of the layer that reads them).</summary>
    private sealed record DropOddSpec(string Name, string Node) : ComponentSpec(Name, DropType)
    {
        public override ICompressionMethod CreateMethod(Recipe recipe, double budgetPp) => new DropOdd(Name, Node);
    }

    private sealed class DropOdd(string name, string node) : ICompressionMethod
    {
        public string Name => name;
        public int Order => 150;
        public void Apply(CompressionContext ctx, int epoch, int step, int steps)
        {
            var graph = ctx.Model.ToGraph();
            var state = ctx.Model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
            var conv = graph.Find(node)!;
            var w = state[node + ".weight"];
            var keep = Enumerable.Range(0, w.Shape[0]).Where(c => c % 2 == 0).ToArray();
            state[node + ".weight"] = Select(w, 0, keep);
            if (state.ContainsKey(node + ".bias")) state[node + ".bias"] = Select(state[node + ".bias"], 0, keep);
            // follow element-wise consumers to the next weight layer and drop its matching inputs
            var value = conv.Output;
            var next = graph.Consumers(value).Single();
            while (OpSchemas.Get(next.Op).Elementwise) next = graph.Consumers(next.Output).Single();
            state[next.Name + ".weight"] = Select(state[next.Name + ".weight"], 1, keep);
            ctx.ReplaceModel(GraphLayers.FromTensors(graph, state, InputHooks.Factories));
            ctx.Log($"{node}: kept {keep.Length} of {w.Shape[0]} channels");
        }
    }

    private static Tensor Select(Tensor t, int axis, int[] keep)
    {
        var parts = keep.Select(i => Ops.Narrow(t, axis, i, 1)).ToArray();
        return Ops.Contiguous(Ops.Concat(axis, parts));
    }

    // One draw split in two: the class prototypes of SyntheticData.Blobs depend on its seed.
    private static (ImageDataset Train, ImageDataset Test) Split(ImageDataset all, int train) =>
        (all.Subset(Enumerable.Range(0, train).ToArray()), all.Subset(Enumerable.Range(train, all.Count - train).ToArray()));

    private static (ImageDataset Train, ImageDataset Test) Data() => Split(SyntheticData.Blobs(640, 4, 1, 8, 8, 5, noise: 0.4f), 512);

    private static GraphModule SmallCnn(ulong seed)
    {
        var b = new NetBuilder([1, 8, 8], new Rng(seed));
        var v = b.Op("relu1", "relu", b.Conv("conv1", b.Input, 6, 3, padding: 1));
        v = b.Op("relu2", "relu", b.Conv("conv2", v, 5, 3, padding: 1));
        v = b.Op("flatten", "flatten", b.Op("pool", "global_avgpool2d", v), new() { ["start_axis"] = 1 });
        return b.Finish(b.Linear("fc", v, 4));
    }

    private static void Fit(GraphModule model, ImageDataset train, int epochs)
    {
        var loader = new DataLoader(train, new DataLoaderOptions { BatchSize = 32, Seed = 3 });
        new Trainer().Fit(model, new Sgd(model.NamedParameters(), 0.05f, 0.9f), e => loader.Epoch(e).Select(x => (x.Images, x.Labels)), epochs, loader.BatchesPerEpoch);
    }

    [Fact]
    public void AComponentDefinedOutsideTheLibrary_ChangesTheGraph_AndTheFileReloadsRunsAndExports()
    {
        var (train, test) = Data();
        var model = SmallCnn(1);
        Fit(model, train, 8);
        var recipe = RecipeLoader.Parse($"""
            version: 1
            name: drop-test
            training: {"{"}lr: 0.02, batch_size: 32{"}"}
            components:
              dropper: {"{"}type: {DropType}, node: conv1{"}"}
            policies:
              - {"{"}component: dropper, start_epoch: 0, end_epoch: 1{"}"}
            """, "drop-test.yaml");
        using var dir = new TempDir();
        var result = Compressor.Run(new CompressionJob
        {
            Model = new LoadedModel(model, new Dictionary<string, string>()), Recipe = recipe,
            Train = train, Validation = test, Test = test, OutPath = dir.File("m.dsz"), Seed = 7,
        });
        Assert.True(result.BaselineAccuracy > 0.85, $"baseline {result.BaselineAccuracy}");
        var file = DszFile.Read(dir.File("m.dsz"));
        Assert.Equal([3, 1, 3, 3], file["conv1.weight"].Encoded.ShapeArray());
        Assert.Equal([5, 3, 3, 3], file["conv2.weight"].Encoded.ShapeArray());

        // reload from the file alone: same accuracy as measured by the service
        var loaded = ModelIO.Load(dir.File("m.dsz"), InputHooks.Factories);
        var batches = Compressor.Ordered(test).ToList();
        Assert.Equal(result.CompressedAccuracy, Trainer.Evaluate(loaded.Model, batches).Accuracy, 6);

        // the runtime and ONNX Runtime compute what the trainer computes
        var x = batches[0].X;
        float[] want;
        using (Engine.NoGrad()) want = loaded.Model.Forward(x).ToArray();
        var rt = InferenceModel.Load(dir.File("m.dsz"));
        var got = rt.Run(x.ToArray(), x.Shape[0]);
        AssertClose(want, got, 1e-4f);
        OnnxExport.FromDsz(file, dir.File("m.onnx"));
        using var ort = new OnnxSession(dir.File("m.onnx"), threads: 1);
        AssertClose(want, ort.Run(x.ToArray(), x.Shape[0]).Values, 1e-4f);
    }

    private static GraphModule Dag(ulong seed, string act = "relu")
    {
        var b = new NetBuilder([2, 6, 6], new Rng(seed));
        var a = b.Op("a_relu", act, b.Conv("a", b.Input, 4, 3, padding: 1));
        var left = b.Conv("left", a, 3, 1);                                   // branch 1
        var right = b.Op("right_relu", act, b.Conv("right", a, 2, 3, padding: 1)); // branch 2 (a is read three times)
        var cat = b.Op("cat", "concat", [left, right], new() { ["axis"] = 1 });
        var d = b.Conv("d", cat, 4, 1);
        var v = b.Op("res_relu", act, b.Op("res", "add", [d, a]));          // residual add
        v = b.Op("flatten", "flatten", b.Op("pool", "global_avgpool2d", v), new() { ["start_axis"] = 1 });
        return b.Finish(b.Linear("fc", v, 4));
    }

    // Smooth activations: a central difference of step 1e-2 across a ReLU kink is not a derivative.
    [Theory]
    [InlineData("tanh")]
    [InlineData("sigmoid")]
    public void ADagWithResidualConcatAndBranch_GradientsMatchFiniteDifferences(string act)
    {
        var model = Dag(2, act);
        var x = Tensor.Randn(new Rng(3), 1f, 2, 2, 6, 6);
        x.RequiresGrad = true;
        var inputs = new[] { x }.Concat(model.Parameters()).ToArray();
        var r = GradCheck.Check(_ => model.Forward(x), inputs);
        Assert.True(r.Ok, r.Where);
    }

    [Fact]
    public void ADagModel_TrainsCompressesAndReloadsFromTheFileAlone_RuntimeEqualsTrainer()
    {
        var (train, valid) = Split(SyntheticData.Blobs(640, 4, 2, 6, 6, 8, noise: 0.4f), 512);
        var model = Dag(4);
        Fit(model, train, 8);
        var recipe = RecipeLoader.Parse("""
            version: 1
            name: dag-test
            training: {lr: 0.02, batch_size: 32}
            components:
              pruner: {type: magnitude-pruning, sparsity: 0.5, layers: [{match: "*.bias", skip: true}, {match: "fc.*", skip: true}]}
              encoder: {type: huffman, index_bits: {conv: auto, fc: auto}}
            policies:
              - {component: pruner, start_epoch: 0, end_epoch: 2, frequency: 1}
              - {component: encoder, start_epoch: 2}
            """, "dag-test.yaml");
        using var dir = new TempDir();
        var result = Compressor.Run(new CompressionJob
        {
            Model = new LoadedModel(model, new Dictionary<string, string>()), Recipe = recipe,
            Train = train, Validation = valid, Test = valid, OutPath = dir.File("dag.dsz"), MaxDropPp = 100, Seed = 1,
        });
        Assert.True(result.BaselineAccuracy > 0.85 && result.CompressedAccuracy > 0.6, $"accuracy {result.BaselineAccuracy} -> {result.CompressedAccuracy}");
        var loaded = ModelIO.Load(dir.File("dag.dsz"), InputHooks.Factories);
        Assert.Contains(loaded.Model.Graph.Nodes, n => n.Op == "concat");
        var x = Compressor.Ordered(valid).First().X;
        float[] trained, reloaded;
        using (Engine.NoGrad())
        {
            trained = result.Model.Forward(x).ToArray();
            reloaded = loaded.Model.Forward(x).ToArray();
        }
        Assert.Equal(trained, reloaded);
        var rt = InferenceModel.Load(dir.File("dag.dsz"));
        AssertClose(trained, rt.Run(x.ToArray(), x.Shape[0]), 1e-4f);
        Assert.Equal(0.5, 1.0 - Density(dir.File("dag.dsz"), "a.weight"), 2);
    }

    private static double Density(string path, string tensor)
    {
        var t = DszFile.Read(path)[tensor].Decode();
        return t.ToArray().Count(v => v != 0f) / (double)t.Size;
    }

    [Fact]
    public void ACheckpointOfTheFirstVersion_ZooNameOnly_ReloadsAsTheSameGraphModel()
    {
        var model = DeepShrink.Nn.Zoo.ModelZoo.Create("resnet-20", new DeepShrink.Nn.Zoo.ModelConfig(), new Rng(9));
        using var dir = new TempDir();
        Checkpoint.Save(dir.File("old.safetensors"), model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ContiguousData()),
            new Dictionary<string, string> { [Checkpoint.ArchKey] = "resnet-20", [Checkpoint.ConfigKey] = new DeepShrink.Nn.Zoo.ModelConfig().ToJson() });
        var loaded = ModelIO.Load(dir.File("old.safetensors"));
        var x = Tensor.Randn(new Rng(1), 1f, 3, 1, 28, 28);
        model.Eval();
        using (Engine.NoGrad()) Assert.Equal(model.Forward(x).ToArray(), loaded.Model.Forward(x).ToArray());
        // and the graph-carrying form of today reloads without the zoo
        ModelIO.Save(dir.File("new.safetensors"), model);
        var again = ModelIO.Load(dir.File("new.safetensors"));
        Assert.Null(again.Meta(Checkpoint.ArchKey));
        using (Engine.NoGrad()) Assert.Equal(model.Forward(x).ToArray(), again.Model.Forward(x).ToArray());
    }

    [Fact]
    public void AMissedBudget_FailsWithoutTouchingTheOutput_AndKeepsTheResultBeside()
    {
        var (train, test) = Data();
        var model = SmallCnn(3);
        Fit(model, train, 8);
        var recipe = RecipeLoader.Parse("""
            version: 1
            name: too-much
            components:
              pruner: {type: magnitude-pruning, sparsity: 0.99, max_drop: 0.0}
            policies:
              - {component: pruner, start_epoch: 1}
            """, "too-much.yaml");
        using var dir = new TempDir();
        var outPath = dir.File("m.dsz");
        File.WriteAllText(outPath, "precious");
        var e = Assert.Throws<BudgetNotMetException>(() => Compressor.Run(new CompressionJob
        {
            Model = new LoadedModel(model, new Dictionary<string, string>()), Recipe = recipe,
            Train = train, Validation = test, Test = test, OutPath = outPath, Seed = 2,
        }));
        Assert.Equal("precious", File.ReadAllText(outPath));
        Assert.Equal(Compressor.BesidePath(outPath), e.Result.OutPath);
        Assert.True(e.Result.DropPp > 0, e.Message);
        Assert.Equal(e.Result.CompressedBytes, new FileInfo(e.Result.OutPath).Length);
        Assert.Contains("budget not met", e.Message);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp", SearchOption.AllDirectories)); // no staged or temporary file left
    }

    private static void AssertClose(float[] want, float[] got, float tol)
    {
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= tol * (1 + Math.Abs(want[i])), $"element {i}: {want[i]} vs {got[i]}");
    }
}

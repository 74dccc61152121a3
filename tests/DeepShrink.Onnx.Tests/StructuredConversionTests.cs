using DeepShrink.Compression;
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
using static DeepShrink.Onnx.Tests.OnnxTestUtil;

namespace DeepShrink.Onnx.Tests;

/// <summary>
/// Each structured / transferred / compact-filter conversion run by the Compressor from a YAML recipe on a small
/// trained CNN: the file holds the new layers with fewer parameters, reloads, and the runtime and ONNX Runtime
/// compute what the trainer computes.
/// </summary>
public class StructuredConversionTests
{
    private static GraphModule SmallCnn(ulong seed)
    {
        var b = new NetBuilder([1, 8, 8], new Rng(seed));
        var v = b.Op("relu1", "relu", b.Conv("conv1", b.Input, 8, 3, padding: 1));
        v = b.Op("relu2", "relu", b.Conv("conv2", v, 8, 3, padding: 1));
        v = b.Op("pool", "maxpool2d", v, new() { ["kernel"] = 2, ["stride"] = 2, ["pad"] = 0 });
        v = b.Op("flatten", "flatten", v, new() { ["start_axis"] = 1 });
        v = b.Op("relu3", "relu", b.Linear("fc1", v, 48));
        return b.Finish(b.Linear("fc2", v, 4));
    }

    [Fact]
    public void ABlockLargerThanTheLayerIsRefusedAndNothingIsWritten()
    {
        var data = SyntheticData.Blobs(96, 4, 1, 8, 8, 5, noise: 0.4f);
        var recipe = RecipeLoader.Parse("""
            version: 1
            name: too-big
            training: {lr: 0.02, batch_size: 32}
            components:
              circ: {type: circulant, block_size: 256}
            policies:
              - {component: circ, start_epoch: 0, end_epoch: 1}
            """, "too-big.yaml");
        using var dir = new TempDir();
        var e = Assert.Throws<InvalidOperationException>(() => Compressor.Run(new CompressionJob
        {
            Model = new LoadedModel(SmallCnn(1), new Dictionary<string, string>()), Recipe = recipe,
            Train = data, Validation = data, Test = data, OutPath = dir.File("m.dsz"), MaxDropPp = 100, Seed = 7,
        }));
        Assert.Contains("block_size 256 is larger than layer fc1 (48 x 128)", e.Message);
        Assert.False(File.Exists(dir.File("m.dsz")));
    }

    [Theory]
    [InlineData("{type: circulant, block_size: full, signs: true}", "circulant_linear", "fc1")]
    [InlineData("{type: circulant, block_size: 16}", "circulant_linear", "fc1")]
    [InlineData("{type: crelu}", "shared_conv2d", "conv2")]
    [InlineData("{type: orbit-shared, group: p4}", "shared_conv2d", "conv2")]
    [InlineData("{type: orbit-shared, group: p4m}", "shared_conv2d", "conv2")]
    [InlineData("{type: depthwise-separable}", "conv2d", "conv2.dw")]
    [InlineData("{type: fire, squeeze_ratio: 0.5}", "concat", "conv2")]
    [InlineData("{type: orbit-shared, group: p4m, orbit_inputs: permute}", "shared_conv2d", "conv2", "input_order")]
    [InlineData("{type: orbit-shared, group: p4, keep_dense: auto, min_reduction: 1.5}", "conv2d", "conv1")]
    [InlineData("{type: orbit-shared, group: p4, keep_dense: auto, min_reduction: 1.5}", "shared_conv2d", "conv2")]
    public void ConversionRunsFromARecipeAndEveryEngineAgrees(string component, string op, string node, string? attr = null)
    {
        var (train, test) = (SyntheticData.Blobs(640, 4, 1, 8, 8, 5, noise: 0.4f) is var all
            ? (all.Subset(Enumerable.Range(0, 512).ToArray()), all.Subset(Enumerable.Range(512, 128).ToArray())) : default);
        var model = SmallCnn(1);
        var loader = new DataLoader(train, new DataLoaderOptions { BatchSize = 32, Seed = 3 });
        new Trainer().Fit(model, new Sgd(model.NamedParameters(), 0.05f, 0.9f), e => loader.Epoch(e).Select(x => (x.Images, x.Labels)), 4, loader.BatchesPerEpoch);
        long before = model.StateDict().Sum(kv => (long)kv.Value.Size);
        var recipe = RecipeLoader.Parse($"""
            version: 1
            name: structured-test
            training: {"{"}lr: 0.02, batch_size: 32{"}"}
            components:
              conv: {component}
            policies:
              - {"{"}component: conv, start_epoch: 0, end_epoch: 1{"}"}
            """, "structured-test.yaml");
        using var dir = new TempDir();
        Compressor.Run(new CompressionJob
        {
            Model = new LoadedModel(model, new Dictionary<string, string>()), Recipe = recipe,
            Train = train, Validation = test, Test = test, OutPath = dir.File("m.dsz"), MaxDropPp = 100, Seed = 7,
        });
        var file = DszFile.Read(dir.File("m.dsz"));
        var graph = ModelIO.GraphOf(file);
        Assert.Contains(graph.Nodes, n => n.Name == node && n.Op == op && (attr is null || n.Attrs.ContainsKey(attr)));
        var loaded = ModelIO.Load(dir.File("m.dsz"), InputHooks.Factories).Model;
        Assert.True(loaded.StateDict().Sum(kv => (long)kv.Value.Size) < before);

        var x = Compressor.Ordered(test).First().X;
        float[] want;
        using (Engine.NoGrad()) want = loaded.Forward(x).ToArray();
        var got = InferenceModel.Load(dir.File("m.dsz")).Run(x.ToArray(), x.Shape[0]);
        Assert.True(MaxAbsDiff(want, got) < 1e-4f, $"runtime vs trainer {MaxAbsDiff(want, got)}");
        OnnxExport.FromDsz(file, dir.File("m.onnx"));
        using var ort = new OnnxSession(dir.File("m.onnx"), threads: 1);
        var o = ort.Run(x.ToArray(), x.Shape[0]).Values;
        Assert.True(MaxAbsDiff(want, o) < 1e-4f, $"ONNX Runtime vs trainer {MaxAbsDiff(want, o)}");
    }

    [Theory]
    [InlineData("{type: orbit-shared, group: p5}", "group")]
    [InlineData("{type: fire, squeeze_ratio: 2}", "squeeze_ratio")]
    [InlineData("{type: crelu, bogus: 1}", "bogus")]
    [InlineData("{type: orbit-shared, group: p4m, orbit_inputs: rotate}", "orbit_inputs")]
    [InlineData("{type: orbit-shared, group: p4m, min_reduction: 2}", "min_reduction")]
    [InlineData("{type: orbit-shared, group: p4m, keep_dense: auto, min_reduction: 9}", "min_reduction")]
    [InlineData("{type: orbit-shared, group: p4m, keep_dense: some}", "keep_dense")]
    public void NonsenseFieldsAreOneLineErrorsNamingTheKey(string component, string key)
    {
        var e = Assert.ThrowsAny<Exception>(() => RecipeLoader.Parse($"""
            version: 1
            name: bad
            components:
              c: {component}
            policies:
              - {"{"}component: c, start_epoch: 0, end_epoch: 1{"}"}
            """, "bad.yaml"));
        Assert.IsType<RecipeFormatException>(e);
        Assert.Contains(key, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}

public class SharedLayerChoiceTests
{
    [Fact]
    public void KeepsTheCostliestLayersPerSavedParameterDenseAtTheReduction()
    {   // vgg-small's convs at 8x: 288, 9216, 18432, 36864, 73728, 147456
        long[] dense = [288, 9216, 18432, 36864, 73728, 147456];
        long[] stored = dense.Select(d => d / 8).ToArray();
        double[] cost = [0.5, 0.3, 0.2, 0.2, 0.1, 0.1];
        var c = DeepShrink.Compression.Structured.SharedLayerChoice.ChooseConverted(dense, stored, cost, 2);
        // conv6 alone saves 129,024 of the 142,992 needed; conv5 is next per saved parameter, and then conv6 + conv5 suffice
        Assert.Equal([false, false, false, false, true, true], c);
        // cleanup: the free small layers are taken first, then conv6 reaches the reduction and the small layers it
        // does not need are kept dense again (conv4 is still needed)
        Assert.Equal([false, false, false, true, false, true],
            DeepShrink.Compression.Structured.SharedLayerChoice.ChooseConverted(dense, stored, [0, 0, 0, 0, 0.01, 0.015], 2));
        // an unreachable reduction converts everything
        Assert.All(DeepShrink.Compression.Structured.SharedLayerChoice.ChooseConverted(dense, stored, cost, 9), Assert.True);
        // reduction 1: nothing to convert
        Assert.All(DeepShrink.Compression.Structured.SharedLayerChoice.ChooseConverted(dense, stored, cost, 1), Assert.False);
    }
}

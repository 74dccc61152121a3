using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Data;
using DeepShrink.Nn;
using DeepShrink.Nn.IO;

namespace DeepShrink.Compression.Tests;

/// <summary>
/// The circulant component's <c>input_layers</c> rule: with <c>dense</c> (the default for full circulant blocks) a
/// linear layer that reads the network input stays dense, decided from the graph; the layers after a feature
/// extractor convert; <c>convert</c> and per-layer rules override it.
/// </summary>
public class CirculantInputLayerTests
{
    private static GraphModule Mlp() => GlobalTargetTests.Net(); // LeNet-300-100 in small

    // vgg-small in small: convs (with batchnorm) then a classifier of two linear layers.
    private static GraphModule ConvNet()
    {
        var b = new NetBuilder([1, 8, 8], new Rng(6));
        var v = b.Op("r1", "relu", b.BatchNorm("bn1", b.Conv("conv1", b.Input, 4, 3, padding: 1)));
        v = b.Op("pool", "maxpool2d", v, new() { ["kernel"] = 2, ["stride"] = 2, ["pad"] = 0 });
        v = b.Op("flatten", "flatten", v, new() { ["start_axis"] = 1 });
        v = b.Op("r2", "relu", b.Linear("fc1", v, 16));
        return b.Finish(b.Linear("fc2", v, 4));
    }

    private static (Dictionary<string, string> Ops, string Log) Run(GraphModule model, string options)
    {
        var data = SyntheticData.Blobs(64, 4, 1, 8, 8, 2);
        var recipe = RecipeLoader.Parse($$"""
            version: 1
            name: circ
            training: {lr: 0.01, batch_size: 32}
            components:
              c: {type: circulant, {{options}}}
            policies:
              - {component: c, start_epoch: 0, end_epoch: 1}
            """, "circ.yaml");
        var log = new List<string>();
        var dir = Directory.CreateTempSubdirectory("ds-circ-").FullName;
        try
        {
            var r = Compressor.Run(new CompressionJob
            {
                Model = new LoadedModel(model, new Dictionary<string, string>()), Recipe = recipe, Log = log.Add,
                Train = data, Validation = data, Test = data, OutPath = Path.Combine(dir, "m.dsz"), MaxDropPp = 100, Seed = 3,
            });
            return (r.Model.Graph.Nodes.ToDictionary(n => n.Name, n => n.Op), string.Join("\n", log));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void OnAnMlpTheFullCirculantKeepsTheInputLayerDenseAndConvertsTheRest()
    {
        var (ops, log) = Run(Mlp(), "block_size: full, signs: true");
        Assert.Equal("linear", ops["fc1"]);
        Assert.Equal(StructuredOps.Circulant, ops["fc2"]);
        Assert.Equal(StructuredOps.Circulant, ops["fc3"]);
        Assert.Contains("fc1 kept (reads the network input; input_layers: dense)", log);
    }

    [Fact]
    public void AfterConvolutionsEveryLinearLayerConverts()
    {
        var (ops, log) = Run(ConvNet(), "block_size: full, signs: true");
        Assert.Equal(StructuredOps.Circulant, ops["fc1"]);
        Assert.Equal(StructuredOps.Circulant, ops["fc2"]);
        Assert.Equal("conv2d", ops["conv1"]);
        Assert.DoesNotContain("kept", log);
    }

    [Theory]
    [InlineData("block_size: full, input_layers: convert")]
    [InlineData("block_size: 4")] // numeric block sizes convert the input layer unless told otherwise
    [InlineData("block_size: full, layers: [{match: \"fc1.weight\"}]")] // a matching rule overrides the default
    public void ConvertOrAMatchingRuleConvertsTheInputLayerToo(string options)
    {
        var (ops, _) = Run(Mlp(), options);
        Assert.All(new[] { "fc1", "fc2", "fc3" }, n => Assert.Equal(StructuredOps.Circulant, ops[n]));
    }

    [Fact]
    public void ASkipRuleStillKeepsAConvertedLayer()
    {
        var (ops, _) = Run(Mlp(), "block_size: 4, input_layers: dense, layers: [{match: \"fc3.weight\", skip: true}]");
        Assert.Equal(("linear", StructuredOps.Circulant, "linear"), (ops["fc1"], ops["fc2"], ops["fc3"]));
    }

    [Fact]
    public void TheInputLayersAreFoundThroughParameterFreeOpsAndBatchnormButNotPastAWeightedLayer()
    {
        var b = new NetBuilder([2, 4, 4], new Rng(1));
        var x = b.BatchNorm("bn0", b.Input);
        var flat = b.Op("flatten", "flatten", x, new() { ["start_axis"] = 1 });
        var fa = b.Linear("fa", flat, 8);
        var fb = b.Linear("fb", flat, 8);
        var feat = b.Op("cat", "concat", [fa, b.Op("r", "relu", fb)], new() { ["axis"] = 1 });
        var mixed = b.Op("cat2", "concat", [feat, flat], new() { ["axis"] = 1 });
        var model = b.Finish(b.Linear("head", b.Linear("fc", mixed, 6), 3));
        Assert.Equal(new[] { "fa", "fb" }, model.Graph.LayersOnInput().Order());
    }

    [Theory]
    [InlineData("input_layers: sparse")]
    [InlineData("input_layers: 1")]
    public void AnInvalidInputLayersValueIsAOneLineErrorNamingTheKey(string option)
    {
        var e = Assert.Throws<RecipeFormatException>(() => RecipeLoader.Parse($$"""
            version: 1
            name: bad
            components:
              c: {type: circulant, {{option}}}
            policies:
              - {component: c, start_epoch: 0, end_epoch: 1}
            """, "bad.yaml"));
        Assert.Contains("input_layers", e.Message);
        Assert.Contains("must be dense or convert", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}

using DeepShrink.Compression.Recipes;

namespace DeepShrink.Compression.Tests;

public class RecipeTests
{
    [Fact]
    public void EveryBuiltInRecipe_Loads_AndIsNamedAfterItsFile()
    {
        var names = RecipeLoader.BuiltInNames.ToList();
        Assert.Contains("deep-compression", names);
        Assert.Contains("deep-compression-lenet5", names);
        Assert.Contains("deep-compression-lenet300", names);
        foreach (var n in names) Assert.Equal(n, RecipeLoader.Load(n).Name);
        var l5 = RecipeLoader.Load("deep-compression-lenet5");
        Assert.Equal(0.925, LayerRule.First(l5.Find<PruningSpec>()!.Layers, "fc1.weight")!.Sparsity);
        Assert.NotNull(l5.Training.Distillation);
        Assert.Equal(28, l5.TotalEpochs);
    }

    [Fact]
    public void BuiltIn_DeepCompression_Loads()
    {
        var r = RecipeLoader.Load("deep-compression");
        var p = r.Find<PruningSpec>()!;
        Assert.Null(p.Sparsity);
        Assert.Equal(0.3, p.MaxDropPp);
        Assert.True(LayerRule.First(p.Layers, "fc1.bias")!.Skip);
        Assert.Null(LayerRule.First(p.Layers, "fc1.weight"));
        var s = r.Find<SharingSpec>()!;
        Assert.Equal((8, 4), (s.ConvBits, s.FcBits));
        Assert.Equal(DeepShrink.Compression.Pruning.OneShotCriterion.Magnitude, p.Criterion);
        Assert.Null(p.Target);
        Assert.True(p.TwoSided);
        Assert.Equal(6, p.Attempts);
        Assert.Equal(1.65, p.MarginSe);
        Assert.Equal(new[] { 0, 6, 12, 18, 24 }, r.PolicyOf("pruner")!.Epochs());
        Assert.Equal(45, r.PolicyOf("quantizer")!.StartEpoch);
        Assert.Equal(60, r.TotalEpochs);
        // Retraining (helper dc40): lr 0.04 and distillation weight 0.4; at 0.01 / 0.7 a ~40x LeNet-300-100 lost 0.6 pp more.
        Assert.Equal(0.04, r.Training.Lr);
        Assert.Equal(new DistillationSettings(4, 0.4), r.Training.Distillation);
        Assert.Equal(1, r.Training.CropPadding);
        Assert.Equal(0.1, r.Training.LabelSmoothing);
    }

    [Theory]
    [InlineData("version: 1\ncomponents:\n  p:\n    type: magnitude-pruning\n    sparsityy: 0.5\npolicies:\n  - component: p\n", "unknown key 'sparsityy'")]
    [InlineData("version: 1\ncomponents:\n  p:\n    type: pruning-magic\npolicies:\n  - component: p\n", "unknown component type 'pruning-magic'")]
    [InlineData("version: 1\ncomponents:\n  p:\n    type: magnitude-pruning\n    sparsity: 1.5\npolicies:\n  - component: p\n", "must be in [0, 1]")]
    [InlineData("version: 1\ncomponents:\n  p:\n    type: magnitude-pruning\n", "has no policy")]
    [InlineData("version: 1\ncomponents:\n  p:\n    type: magnitude-pruning\npolicies:\n  - component: q\n", "names no component")]
    [InlineData("version: 2\ncomponents: {}\n", "version")]
    [InlineData("version: 1\ncomponents: [\n", "invalid YAML")]
    [InlineData("- 1\n- 2\n", "must be a YAML mapping")]
    [InlineData("version: 1\ncomponents:\n  p:\n    type: magnitude-pruning\n    search: sideways\npolicies:\n  - component: p\n", "must be probe or two-sided")]
    [InlineData("version: 1\ncomponents:\n  p:\n    type: magnitude-pruning\n    sparsity: 0.5\n    search: two-sided\npolicies:\n  - component: p\n", "needs sparsity: auto")]
    public void InvalidRecipes_GiveOneLineErrors_NamingTheProblem(string yaml, string expected)
    {
        var e = Assert.Throws<RecipeFormatException>(() => RecipeLoader.Parse(yaml, "test.yaml"));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void UnknownBuiltIn_ListsTheKnownOnes()
    {
        var e = Assert.Throws<RecipeFormatException>(() => RecipeLoader.Load("deep-compresion"));
        Assert.Contains("deep-compression", e.Message);
    }

    [Theory]
    [InlineData("fc*.weight", "fc1.weight", true)]
    [InlineData("fc*.weight", "conv1.weight", false)]
    [InlineData("*", "anything.at.all", true)]
    [InlineData("layer?_0.*", "layer1_0.conv1.weight", true)]
    [InlineData("layer?_0.*", "layer12_0.conv1.weight", false)]
    public void Globs(string pattern, string name, bool expected)
        => Assert.Equal(expected, new LayerRule(pattern, false, null, null).Matches(name));
}

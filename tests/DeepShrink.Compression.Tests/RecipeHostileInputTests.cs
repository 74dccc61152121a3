using DeepShrink.Compression.Recipes;

namespace DeepShrink.Compression.Tests;

/// <summary>Malformed recipes (issue 17): every failure is a one-line RecipeFormatException naming the file and where.</summary>
public class RecipeHostileInputTests
{
    private const string Tail = "\npolicies:\n  - component: p\n";

    [Theory]
    [InlineData("version: 1\ncomponents: {p: {type: huffman}\n", "line")]              // unterminated flow mapping
    [InlineData("version: 1\n...\n...\ncomponents:\n  p: {type: huffman}\n", "bad.yaml")] // stray document ends
    [InlineData("version: 1\ncomponents:\n\tp:\n    type: huffman\n", "line")]          // tab as indentation
    [InlineData("[x, y]: 1\nversion: 1\n", "plain scalar")]                             // a list as a key
    [InlineData("version: 1\ncomponents:\n  {a: 1}: {type: huffman}\n", "plain scalar")] // a mapping as a key
    [InlineData("version: 1\nversion: 1\n", "line")]                                    // duplicate key
    public void MalformedYamlIsOneRecipeFormatException(string yaml, string part)
    {
        var e = Assert.Throws<RecipeFormatException>(() => RecipeLoader.Parse(yaml, "bad.yaml"));
        Assert.StartsWith("bad.yaml", e.Message);
        Assert.Contains(part, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void DeepNestingIsRejectedBeforeTheNodeBuilderRecurses()
    {
        string yaml = "version: 1\ncomponents: " + new string('[', 100_000) + new string(']', 100_000) + "\n";
        var e = Assert.Throws<RecipeFormatException>(() => RecipeLoader.Parse(yaml, "deep.yaml"));
        Assert.Contains("deeper than 32", e.Message);
    }

    [Theory]
    [InlineData("training:\n  lr: NaN\n", "training.lr")]
    [InlineData("training:\n  lr: .nan\n", "training.lr")]
    [InlineData("training:\n  momentum: NaN\n", "training.momentum")]
    [InlineData("training:\n  weight_decay: nan\n", "training.weight_decay")]
    [InlineData("training:\n  lr: Infinity\n", "training.lr")]
    [InlineData("training:\n  lr: 1e400\n", "training.lr")]
    public void NonFiniteTrainingNumbersAreRejected(string training, string key)
    {
        string yaml = "version: 1\n" + training + "components:\n  p:\n    type: huffman" + Tail;
        var e = Assert.Throws<RecipeFormatException>(() => RecipeLoader.Parse(yaml, "nan.yaml"));
        Assert.Contains(key, e.Message);
        Assert.Contains("finite", e.Message);
    }

    [Theory]
    [InlineData("    type: linear-quantization\n    percentile: NaN\n", "percentile")]
    [InlineData("    type: magnitude-pruning\n    sparsity: NaN\n", "sparsity")]
    [InlineData("    type: magnitude-pruning\n    max_drop: -Infinity\n", "max_drop")]
    [InlineData("    type: weight-sharing\n    centroid_lr_scale: NaN\n", "centroid_lr_scale")]
    public void NonFiniteComponentNumbersAreRejected(string component, string key)
    {
        string yaml = "version: 1\ncomponents:\n  p:\n" + component + Tail;
        var e = Assert.Throws<RecipeFormatException>(() => RecipeLoader.Parse(yaml, "nan.yaml"));
        Assert.Contains(key, e.Message);
    }
}

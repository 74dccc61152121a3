using DeepShrink.Compression.Binarization;
using DeepShrink.Compression.Quantization;
using DeepShrink.Compression.Recipes;

namespace DeepShrink.Compression.Tests;

public class QuantizationRecipeTests
{
    [Fact]
    public void BuiltInPrecisionRecipes_Load()
    {
        var ptq = RecipeLoader.Load("int8-ptq").Find<LinearQuantizationSpec>()!;
        Assert.False(ptq.Qat);
        Assert.Equal(new QuantScheme(8, true, true, CalibrationMethod.MinMax), ptq.Weights);
        Assert.Equal(CalibrationMethod.Mse, ptq.Activations!.Method);
        Assert.False(ptq.Activations.Symmetric);
        Assert.Equal(0, RecipeLoader.Load("int8-ptq").TotalEpochs);

        Assert.True(RecipeLoader.Load("int8-qat").Find<LinearQuantizationSpec>()!.Qat);
        var fx = RecipeLoader.Load("fixed16-stochastic").Find<FixedPointSpec>()!;
        Assert.Equal((new FixedPointFormat(16, 14), new FixedPointFormat(16, 12), new FixedPointFormat(16, 15), true),
            (fx.Weights, fx.Activations!.Value, fx.Gradients!.Value, fx.Stochastic));
        Assert.Equal(BinarizationMethod.BinaryConnect, RecipeLoader.Load("binary-connect").Find<BinarizationSpec>()!.Method);
        Assert.Equal(BinarizationMethod.Bnn, RecipeLoader.Load("bnn").Find<BinarizationSpec>()!.Method);
        var x = RecipeLoader.Load("xnor").Find<BinarizationSpec>()!;
        Assert.Equal((BinarizationMethod.Xnor, true, true), (x.Method, x.KeepFirst, x.KeepLast));
    }

    [Theory]
    [InlineData("type: linear-quantization\n    bits: 9", "must be in [2, 8]")]
    [InlineData("type: linear-quantization\n    mode: int4", "must be ptq or qat")]
    [InlineData("type: linear-quantization\n    calibration: kl", "must be minmax, percentile or mse")]
    [InlineData("type: linear-quantization\n    mode: qat\n    weight_calibration: mse", "must be minmax with mode qat")]
    [InlineData("type: fixed-point\n    rounding: up", "must be nearest or stochastic")]
    [InlineData("type: fixed-point\n    word_bits: 40", "must be in [2, 32]")]
    [InlineData("type: binarization", "method: is required")]
    [InlineData("type: binarization\n    method: xnor\n    stochastic: true", "only defined for binary-connect and bnn")]
    [InlineData("type: binarization\n    method: bnn\n    alpha: 2", "unknown key 'alpha'")]
    public void InvalidPrecisionComponents_GiveOneLineErrors(string component, string expected)
    {
        var yaml = $"version: 1\ncomponents:\n  q:\n    {component}\npolicies:\n  - component: q\n";
        var e = Assert.Throws<RecipeFormatException>(() => RecipeLoader.Parse(yaml, "t.yaml"));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }
}

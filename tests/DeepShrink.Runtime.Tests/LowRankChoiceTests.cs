using DeepShrink.Core;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Runtime.Tests;

/// <summary>The runtime runs the .dsz low-rank codec as two thin products and, at load, times it against the re-multiplied dense matrix.</summary>
public class LowRankChoiceTests
{
    [Fact]
    public void AtLowRankTheFactoredFormIsTimedAgainstDenseAndWins()
    {
        using var dir = new TempDir();
        var rng = new Rng(9);
        // fc1 [300, 784] at rank 2: 2 (300 + 784) = 2,168 multiply-adds per sample instead of 235,200 (108x fewer)
        var path = TestModels.Write(TestModels.Create("lenet-300-100", 6), "lenet-300-100", (name, t) =>
            name == "fc1.weight" ? LowRankCodec.Encode(Tensor.Randn(rng, 0.1f, 300, 2).Span, Tensor.Randn(rng, 0.1f, 2, 784).Span, t.Shape, 2) : null, dir);
        var x = Tensor.Randn(new Rng(2), 1f, 5, 1, 28, 28);
        var expected = InferenceModelTests.Decoded(path, x);
        var auto = InferenceModel.Load(path, new RuntimeOptions { Kernels = KernelPolicy.Auto, CalibrationBatch = 4 });
        var fc1 = auto.Layers.Single(l => l.Name == "fc1");
        Assert.Equal(LowRankCodec.CodecName, fc1.Codec);
        Assert.True(fc1.MeasuredMicros.ContainsKey("lowrank") && fc1.MeasuredMicros.ContainsKey("dense"), string.Join(", ", fc1.MeasuredMicros.Keys));
        Assert.Equal("lowrank", fc1.Kernel);
        Assert.True(fc1.MeasuredMicros["lowrank"] < fc1.MeasuredMicros["dense"]);
        Assert.True(fc1.WeightBytes <= 4 * 2 * (300 + 784), $"{fc1.WeightBytes} bytes: the factors, not the product");
        Assert.True(expected.MaxAbsDiff(auto.Forward(x)) <= 1e-5f);
        var dense = InferenceModel.Load(path, new RuntimeOptions { Kernels = KernelPolicy.Dense });
        Assert.Equal("dense", dense.Layers.Single(l => l.Name == "fc1").Kernel);
        Assert.True(expected.MaxAbsDiff(dense.Forward(x)) <= 1e-5f);
    }
}

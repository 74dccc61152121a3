using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Runtime.Tests;

/// <summary>conv_transpose2d in the runtime: batches and threads against the autograd op, relu fused, bad weights refused.</summary>
public class ConvTransposeStepTests
{
    private static (ModelGraph, Dictionary<string, Tensor>) Net(ConvTransposeAttrs a, int c, int o, int k, int[] sample)
    {
        var rng = new Rng(12);
        var tensors = new Dictionary<string, Tensor>
        {
            ["up.weight"] = Tensor.Uniform(rng, -1f, 1f, c, o / a.Groups, k, k), ["up.bias"] = Tensor.Uniform(rng, -0.5f, 0.5f, o),
        };
        var b = new GraphBuilder(sample);
        var y = b.Add("up", "conv_transpose2d", [b.Graph.Input], new() { ["weight"] = "up.weight", ["bias"] = "up.bias" }, a.ToAttrs());
        return (b.Finish(b.Add("relu", "relu", [y])), tensors);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 2)]
    [InlineData(9, 2)]
    public void MatchesAutogradOp_AtEveryBatchAndThreadCount(int batch, int threads)
    {
        foreach (var a in new[]
        {
            new ConvTransposeAttrs(2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1),   // symmetric pads: direct path
            new ConvTransposeAttrs(2, 3, 0, 2, 1, 0, 2, 1, 1, 2, 2),   // asymmetric pads, dilation, groups: full-output path
        })
        {
            var (g, t) = Net(a, 4, 6, 3, [4, 5, 6]);
            var x = Tensor.Randn(new Rng(3), 1f, batch, 4, 5, 6);
            var expected = Ops.Relu(Ops.ConvTranspose2d(x, t["up.weight"], t["up.bias"], a));
            var m = InferenceModel.LoadDense(g, t, options: new RuntimeOptions { Threads = threads });
            var y = m.Forward(x);
            Assert.Equal(expected.Shape, y.Shape);
            Assert.True(y.MaxAbsDiff(expected) <= 1e-5f, $"{a}: max |diff| {y.MaxAbsDiff(expected)}");
        }
    }

    [Fact]
    public void ReluIsFused_AndWeightMismatchIsOneLine()
    {
        var a = new ConvTransposeAttrs(1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1);
        var (g, t) = Net(a, 2, 3, 3, [2, 4, 4]);
        var m = InferenceModel.LoadDense(g, t);
        Assert.Single(m.Layers, l => l.Op == "conv_transpose2d");
        Assert.Equal(1, m.StepCount); // the relu runs inside the conv_transpose2d step
        t["up.weight"] = new Tensor(3, 3, 3, 3);
        var e = Assert.Throws<InvalidDataException>(() => InferenceModel.LoadDense(g, t));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("'up'", e.Message);
    }
}

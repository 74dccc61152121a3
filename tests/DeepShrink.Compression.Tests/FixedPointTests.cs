using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Quantization;
using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Tests;

public class FixedPointTests
{
    // Applies `steps` SGD updates of size `update` (below half a fixed-point step) to a zero weight.
    private static float[] SmallUpdates(bool stochastic, int steps, float update)
    {
        var w = new Tensor(256);
        w.RequiresGrad = true;
        var model = new Sequential(Array.Empty<Module>());
        var opt = new Sgd(new[] { ("w", w) }, 1f);
        var cb = new FixedPointCallback(new[] { w }, new FixedPointFormat(8, 6), null, stochastic ? new Rng(1) : null);
        var ctx = new TrainingContext { Model = model, Optimizer = opt };
        for (int s = 0; s < steps; s++)
        {
            w.Grad = Tensor.Full(-update, 256);
            cb.BeforeOptimizerStep(ctx);
            opt.Step();
            cb.AfterOptimizerStep(ctx);
        }
        return w.ToArray();
    }

    [Fact]
    public void RoundToNearest_LosesSmallUpdates_StochasticRoundingKeepsThemInExpectation()
    {
        const float eps = 1f / 64, update = eps / 8;
        var nearest = SmallUpdates(false, 40, update);
        Assert.All(nearest, v => Assert.Equal(0f, v));
        var stoch = SmallUpdates(true, 40, update);
        Assert.All(stoch, v => Assert.Equal(Math.Round(v / eps), v / eps)); // stays on the grid
        double mean = stoch.Average(v => (double)v);
        Assert.InRange(mean, 40 * update * 0.85, 40 * update * 1.15); // 5 expected
    }

    [Theory]
    [InlineData(8, 6, 40, 30, 0.3f, "int8")]
    [InlineData(16, 14, 200, 300, 0.05f, "codebook")]   // ~6.5k distinct values for 60k weights: the codebook wins
    [InlineData(16, 14, 40, 30, 0.3f, "dense-f32")]     // nearly every value distinct: dense is smaller
    public void Encode_PicksInt8_Codebook_OrDense_AndIsExact(int word, int frac, int rows, int cols, float std, string codec)
    {
        var rng = new Rng(2);
        var f = new FixedPointFormat(word, frac);
        var w = Tensor.Randn(rng, std, rows, cols);
        f.RoundInPlace(w.Span, rng);
        var enc = FixedPointPhase.Encode(w, f);
        Assert.Equal(codec, enc.Codec);
        Assert.Equal(w.ToArray(), enc.Decode());
        Assert.True(enc.PayloadBytes <= 4L * w.Size);
    }

    [Fact]
    public void InputHook_RoundsInference_ToNearest()
    {
        var rng = new Rng(3);
        var lin = new Linear(4, 2, rng);
        var model = new Sequential(("fc", lin));
        lin.ForwardHook = new FixedPointInputHook(new FixedPointFormat(8, 3), new FixedPointFormat(8, 7), new Rng(9));
        model.Eval();
        var x = Tensor.Randn(rng, 1f, 3, 4);
        var rounded = x.ToArray().Select(v => Ops.RoundFixed(v, 8, 3, false)).ToArray();
        Assert.Equal(lin.Forward(Tensor.FromArray(rounded, 3, 4)).ToArray(), model.Forward(x).ToArray());
        Assert.Equal(model.Forward(x).ToArray(), model.Forward(x).ToArray());
    }
}

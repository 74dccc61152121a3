using DeepShrink.Compression.Binarization;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Nn;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Tests;

public class BinarizationTests
{
    [Fact]
    public void XnorAlpha_IsMeanAbsPerOutputChannel_AndMinimisesTheError()
    {
        var w = Tensor.Randn(new Rng(1), 0.2f, 5, 3, 3, 3);
        var a = Binarizer.ChannelAlphas(w.Span, 5);
        var data = w.ToArray();
        for (int c = 0; c < 5; c++)
        {
            var ch = data.Skip(c * 27).Take(27).ToArray();
            Assert.Equal(ch.Average(v => Math.Abs(v)), a[c], 5);
            double Err(float alpha) => ch.Sum(v => Math.Pow(v - (v < 0 ? -alpha : alpha), 2));
            Assert.True(Err(a[c]) < Err(a[c] * 1.05f) && Err(a[c]) < Err(a[c] * 0.95f));
        }
        var b = new float[data.Length];
        Binarizer.Binarize(data, a, b);
        for (int i = 0; i < b.Length; i++) Assert.Equal(data[i] < 0 ? -a[i / 27] : a[i / 27], b[i]);
    }

    [Fact]
    public void StochasticBinarization_HasExpectationClipOfW()
    {
        // E[b] = H (2 p - 1) with p = hard_sigmoid(w / H) = clip(w, -H, H).
        var w = new[] { -0.9f, -0.2f, 0f, 0.35f, 0.7f, 2f };
        const float h = 0.5f;
        var rng = new Rng(2);
        var sum = new double[w.Length];
        var b = new float[w.Length];
        const int n = 20_000;
        for (int s = 0; s < n; s++)
        {
            Binarizer.Binarize(w, new[] { h }, b, rng);
            for (int i = 0; i < w.Length; i++) { Assert.Equal(h, Math.Abs(b[i])); sum[i] += b[i]; }
        }
        for (int i = 0; i < w.Length; i++)
            Assert.True(Math.Abs(sum[i] / n - Math.Clamp(w[i], -h, h)) < 5 * h / Math.Sqrt(n), $"w {w[i]}: mean {sum[i] / n}");
    }

    [Fact]
    public void BinaryConnect_GradientOfBinaryWeights_UpdatesClippedRealWeights_AndTrains()
    {
        var rng = new Rng(3);
        var lin = new Linear(6, 2, rng);
        var model = new Sequential(("fc", lin));
        float h = Binarizer.MeanAbs(lin.Weight.Span);
        var cb = new BinaryWeightCallback(new[] { new BinaryWeight("fc.weight", lin.Weight, false, h) }, null, clip: true);
        var x = Tensor.Randn(rng, 1f, 128, 6);
        var y = Enumerable.Range(0, 128).Select(i => x[i, 0] - x[i, 3] > 0 ? 1 : 0).ToArray();

        // One step by hand: the gradient is the one of the binarised layer.
        var real = lin.Weight.ToArray();
        var ctx = new TrainingContext { Model = model, Optimizer = new Sgd(model.NamedParameters(), 0.1f) };
        cb.OnBatchBegin(ctx);
        Assert.All(lin.Weight.ToArray(), v => Assert.Equal(h, Math.Abs(v)));
        var binW = lin.Weight.Clone();
        Ops.CrossEntropy(model.Forward(x), y).Backward();
        var g = lin.Weight.Grad!.ToArray();
        cb.BeforeOptimizerStep(ctx);
        Assert.Equal(real, lin.Weight.ToArray());
        var wb = binW; wb.RequiresGrad = true;
        Ops.CrossEntropy(Ops.Linear(x, wb, lin.Bias!.Detach()), y).Backward();
        Assert.Equal(wb.Grad!.ToArray(), g);
        lin.ZeroGrad();

        var t = new Trainer();
        t.Callbacks.Add(cb);
        var hist = t.Fit(model, new Adam(model.NamedParameters(), 0.02f), _ => new[] { (x, y) }, 40);
        Assert.True(hist[^1].Loss < hist[0].Loss, $"loss {hist[0].Loss} -> {hist[^1].Loss}");
        Assert.All(lin.Weight.ToArray(), v => Assert.InRange(v, -h, h));
    }

    [Fact]
    public void BinaryInput_UsesRunningStatistics_InEvaluation_AndBnnFeedsSigns()
    {
        var rng = new Rng(4);
        var lin = new Linear(5, 3, rng);
        var hook = BinaryInputHook.For(lin, xnor: false);
        lin.ForwardHook = hook;
        var model = new Sequential(("fc", lin));
        model.Train();
        var x = Tensor.Uniform(rng, 0f, 4f, 400, 5);
        for (int i = 0; i < 150; i++) model.Forward(x); // running stats converge to the batch stats
        model.Eval();
        var mean = hook.State["in_mean"].ToArray();
        var xs = x.ToArray();
        for (int f = 0; f < 5; f++) Assert.Equal(Enumerable.Range(0, 400).Average(i => xs[i * 5 + f]), mean[f], 3);
        var signs = new float[xs.Length];
        for (int i = 0; i < xs.Length; i++) signs[i] = xs[i] - mean[i % 5] > 0 ? 1f : -1f;
        Assert.Equal(lin.Forward(Tensor.FromArray(signs, 400, 5)).ToArray(), model.Forward(x).ToArray());
    }

    [Fact]
    public void BinaryInput_DeadFeature_BinarisesAlikeInTrainingAndInference()
    {
        var lin = new Linear(2, 1, new Rng(7));
        var hook = BinaryInputHook.For(lin, xnor: false);
        var x = Tensor.FromArray(new[] { 0f, 1f, 0f, 3f, 0f, 2f }, 3, 2); // feature 0 is always 0 (a dead ReLU)
        hook.State["in_mean"].Span[0] = 1e-38f;                        // what a decayed running mean looks like
        float[]? train = null, eval = null;
        lin.Train();
        hook.Forward(lin, x, b => { train = b.ToArray(); return b; });
        lin.Eval();
        hook.Forward(lin, x, b => { eval = b.ToArray(); return b; });
        Assert.Equal(-1f, train![0]);
        Assert.Equal(new[] { train[0], train[2], train[4] }, new[] { eval![0], eval[2], eval[4] });
    }

    [Fact]
    public void XnorScaleK_ForConvolutions_IsTheMeanOfAbsInputOverEachReceptiveField()
    {
        var rng = new Rng(5);
        var conv = new Conv2d(3, 4, 3, rng, stride: 2, padding: 1);
        var hook = BinaryInputHook.For(conv, xnor: true);
        var x = Tensor.Randn(rng, 1f, 2, 3, 5, 5);
        conv.Eval();
        // With mean 0 / var 1 running statistics the standardised input is x itself (eps aside).
        Tensor? seen = null;
        var y = hook.Forward(conv, x, b => { seen = b; return Tensor.Full(1f, 2, 4, 3, 3); });
        Assert.Equal(x.ToArray().Select(v => v > 0 ? 1f : -1f), seen!.ToArray());
        var xs = x.ToArray();
        float s = 1f / MathF.Sqrt(1f + hook.Eps);
        var bias = conv.Bias!.ToArray();
        for (int n = 0; n < 2; n++)
            for (int oy = 0; oy < 3; oy++)
                for (int ox = 0; ox < 3; ox++)
                {
                    double acc = 0;
                    for (int c = 0; c < 3; c++)
                        for (int dy = 0; dy < 3; dy++)
                            for (int dx = 0; dx < 3; dx++)
                            {
                                int iy = oy * 2 - 1 + dy, ix = ox * 2 - 1 + dx;
                                if (iy >= 0 && iy < 5 && ix >= 0 && ix < 5) acc += Math.Abs(xs[((n * 3 + c) * 5 + iy) * 5 + ix] * s);
                            }
                    double k = acc / 27;
                    for (int o = 0; o < 4; o++) Assert.Equal((1 - bias[o]) * k + bias[o], y[n, o, oy, ox], 4);
                }
    }

    [Fact]
    public void XnorScaleK_ForLinearLayers_IsThePerSampleMeanAbs()
    {
        var rng = new Rng(6);
        var lin = new Linear(8, 2, rng, bias: false);
        var hook = BinaryInputHook.For(lin, xnor: true);
        lin.Eval();
        var x = Tensor.Randn(rng, 1f, 3, 8);
        using var _ = Engine.NoGrad();
        var y = hook.Forward(lin, x, b => Tensor.Ones(3, 2));
        float s = 1f / MathF.Sqrt(1f + hook.Eps);
        for (int n = 0; n < 3; n++)
        {
            double k = Enumerable.Range(0, 8).Average(j => Math.Abs(x[n, j] * s));
            Assert.Equal(k, y[n, 0], 5);
        }
    }
}

using DeepShrink.Compression.Pruning;
using DeepShrink.Core;
using DeepShrink.Nn;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Tests;

public class RegularizationTests
{
    [Fact]
    public void ProximalSteps_HaveTheirClosedFormValues()
    {
        var w = new[] { -1.5f, -0.2f, 0f, 0.3f, 2f };
        new L1Regularizer(2).Step(w, 1, lr: 0.25); // t = 0.5
        Assert.Equal(new[] { -1f, 0f, 0f, 0f, 1.5f }, w);

        var v = new[] { 3f, -6f };
        new L2Regularizer(4).Step(v, 1, lr: 0.5); // w / (1 + 2)
        Assert.Equal(new[] { 1f, -2f }, v);

        var g = new[] { 3f, 4f, 0.3f, 0.4f }; // rows of norm 5 and 0.5
        new GroupLassoRegularizer(1).Step(g, 2, lr: 1); // t = 1
        Assert.Equal(new[] { 2.4f, 3.2f, 0f, 0f }, g);
        Assert.Equal(2 * (5 + 0.5), new GroupLassoRegularizer(2).Penalty(new[] { 3f, 4f, 0.3f, 0.4f }, 2), 5);
    }

    [Fact]
    public void BiasedWeightDecay_GradientMatchesItsPenalty_AndDecaysSmallWeightsFaster()
    {
        var r = new BiasedWeightDecay(0.5);
        foreach (var w in new[] { -2.0, -0.3, 0.1, 1.0, 4.0 })
        {
            double h = 1e-4;
            double fd = (r.Penalty(new[] { (float)(w + h) }, 1) - r.Penalty(new[] { (float)(w - h) }, 1)) / (2 * h);
            Assert.Equal(fd, r.Gradient(w), 3);
        }
        var ws = new[] { 0.1f, 3f };
        new BiasedWeightDecay(1).Step(ws, 1, lr: 0.1);
        double smallShrink = 1 - ws[0] / 0.1, largeShrink = 1 - ws[1] / 3.0;
        Assert.True(smallShrink > 10 * largeShrink, $"relative decay {smallShrink} (|w| = 0.1) vs {largeShrink} (|w| = 3)");
        Assert.Equal(1 - 0.1 * 2 / (1.01 * 1.01), ws[0] / 0.1, 5);
    }

    /// <summary>
    /// Toy regression with X = 2 I (4 samples), so the MSE over [4, 3] outputs is (1/3) ||W - A||_F^2 and
    /// the regularised optimum has a closed form per row or element.
    /// </summary>
    private static float[] TrainToy(Regularizer reg, out Module model, int epochs = 300)
    {
        var a = new float[] { 1f, 2f, 0f, -1f, 0.1f, -0.05f, 0.05f, 0.1f, -2f, 0.5f, 1f, 0.1f }; // [3, 4]
        var layer = new Linear(4, 3, new Rng(17), bias: false);
        var x = new Tensor(4, 4);
        for (int i = 0; i < 4; i++) x[i, i] = 2f;
        var y = new Tensor(4, 3);
        for (int i = 0; i < 4; i++)
            for (int r = 0; r < 3; r++) y[i, r] = 2f * a[r * 4 + i];
        var trainer = new Trainer { Loss = (o, _, _) => Ops.Mse(o, y) };
        trainer.Callbacks.Add(new RegularizationCallback(reg));
        trainer.Fit(layer, new Sgd(layer.NamedParameters(), lr: 0.5f), _ => new[] { (x, new int[4]) }, epochs);
        model = layer;
        return a;
    }

    [Fact]
    public void GroupLasso_ZeroesWholeRows_AtTheExactOptimum()
    {
        const double lambda = 0.3;
        var a = TrainToy(new GroupLassoRegularizer(lambda), out var model);
        var w = ((Linear)model).Weight.ToArray();
        for (int r = 0; r < 3; r++)
        {
            double norm = Math.Sqrt(Enumerable.Range(0, 4).Sum(j => (double)a[r * 4 + j] * a[r * 4 + j]));
            double f = Math.Max(0, 1 - 1.5 * lambda / norm); // argmin (1/3)||w - a||^2 + lambda ||w||
            for (int j = 0; j < 4; j++) Assert.Equal(f * a[r * 4 + j], w[r * 4 + j], 4);
        }
        Assert.All(w.AsSpan(4, 4).ToArray(), v => Assert.Equal(0f, v)); // exactly zero, not small
        var masks = ThresholdPruner.RowMasks(model, new[] { "weight" }, 0f);
        Assert.Equal(new[] { 1f, 1f, 1f, 1f, 0f, 0f, 0f, 0f, 1f, 1f, 1f, 1f }, masks.Get("weight"));
    }

    [Fact]
    public void L1_ReachesTheSoftThresholdedOptimum_WithExactZeros()
    {
        const double lambda = 0.1;
        var a = TrainToy(new L1Regularizer(lambda), out var model);
        var w = ((Linear)model).Weight.ToArray();
        for (int i = 0; i < a.Length; i++)
        {
            double t = 1.5 * lambda, expected = Math.Sign(a[i]) * Math.Max(0, Math.Abs(a[i]) - t);
            Assert.Equal(expected, w[i], 4);
            if (expected == 0) Assert.Equal(0f, w[i]);
        }
        var masks = ThresholdPruner.Masks(model, new[] { "weight" }, 0f);
        Assert.Equal(a.Count(v => Math.Abs(v) <= 0.15), masks.Get("weight")!.Count(m => m == 0f));
    }

    [Fact]
    public void L2_ReachesTheRidgeOptimum()
    {
        const double lambda = 0.2;
        var a = TrainToy(new L2Regularizer(lambda), out var model);
        var w = ((Linear)model).Weight.ToArray();
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i] * (2.0 / 3) / (2.0 / 3 + lambda), w[i], 4);
        var cb = new RegularizationCallback(new L2Regularizer(lambda));
        Assert.Equal(0.5 * lambda * w.Sum(v => (double)v * v), cb.Penalty(model), 5);
    }

    [Fact]
    public void BadArguments_AreClearErrors()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new L1Regularizer(-1));
        Assert.Throws<ArgumentException>(() => new GroupLassoRegularizer(1).Step(new float[5], 2, 0.1));
        var model = new Linear(2, 2, new Rng(1));
        var e = Assert.Throws<ArgumentException>(() => new RegularizationCallback(new L1Regularizer(1), new[] { "nope" }).Penalty(model));
        Assert.Contains("nope", e.Message);
        Assert.Throws<ArgumentException>(() => ThresholdPruner.Masks(model, new[] { "nope" }, 0f));
    }
}

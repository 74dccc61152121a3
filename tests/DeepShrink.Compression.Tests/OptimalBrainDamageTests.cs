using DeepShrink.Compression.Pruning;
using DeepShrink.Core;
using DeepShrink.Nn;
using static DeepShrink.Compression.Tests.PruningMath;

namespace DeepShrink.Compression.Tests;

public class OptimalBrainDamageTests
{
    [Fact]
    public void Saliency_IsTheExactLossChange_OfADiagonalQuadratic()
    {
        // L(w) = 1/2 sum h_i (w_i - w*_i)^2 at its minimum w*: deleting w_q costs exactly 1/2 h_q w*_q^2.
        var h = new[] { 0.5, 2.0, 3.0, 0.1, 7.0 };
        var wStar = new[] { 1.5f, -0.25f, 0.8f, -3f, 0.05f };
        double Loss(float[] w) => 0.5 * Enumerable.Range(0, h.Length).Sum(i => h[i] * (w[i] - wStar[i]) * (w[i] - wStar[i]));
        var s = OptimalBrainDamage.Saliency(wStar, h);
        for (int q = 0; q < h.Length; q++)
        {
            var w = (float[])wStar.Clone();
            w[q] = 0f;
            Assert.Equal(Loss(w) - Loss(wStar), s[q], 12);
        }
        // The mask prunes the two smallest loss changes, not the two smallest magnitudes.
        var mask = OptimalBrainDamage.Mask(wStar, h, 0.4);
        Assert.Equal(new[] { 1f, 0f, 1f, 1f, 0f }, mask);
    }

    [Fact]
    public void LayerwiseSaliency_IsTheExactErrorIncrease_OfDeletingOneWeight()
    {
        const int n = 300, d = 6, rows = 2;
        var x = Gaussian(3, n, d);
        for (int i = 0; i < n; i++) { x[i * d + 1] += 0.8f * x[i * d]; x[i * d + 4] *= 3f; } // correlated, unequal scales
        var w = Gaussian(4, rows, d);
        var h = new LayerHessian(d);
        h.AddRows(x, n);
        var s = OptimalBrainDamage.LayerwiseSaliency(w, h.Diagonal());
        for (int q = 0; q < w.Length; q++)
        {
            var pruned = (float[])w.Clone();
            pruned[q] = 0f;
            Assert.Equal(LayerError(x, n, d, pruned, w), s[q], 9);
        }
    }

    [Fact]
    public void EmpiricalFisher_IsTheMeanSquaredPerSampleGradient()
    {
        const int n = 5, din = 3, dout = 2;
        var layer = new Linear(din, dout, new Rng(5), bias: false);
        var x = Gaussian(6, n, din);
        var t = Gaussian(7, n, dout);
        // Labels index the regression targets so the loss can be a per-sample mean squared error.
        Tensor Loss(Tensor output, int[] label) => Ops.Mse(output, Tensor.FromArray(t.AsSpan(label[0] * dout, dout), 1, dout));
        var f = EmpiricalFisher.Diagonal(layer, new[] { (Tensor.FromArray(x, n, din), Enumerable.Range(0, n).ToArray()) }, new[] { "weight" }, Loss)["weight"];
        var w = layer.Weight.ToArray();
        for (int r = 0; r < dout; r++)
            for (int j = 0; j < din; j++)
            {
                double sum = 0;
                for (int i = 0; i < n; i++)
                {
                    double y = 0;
                    for (int k = 0; k < din; k++) y += (double)w[r * din + k] * x[i * din + k];
                    double g = 2.0 / dout * (y - t[i * dout + r]) * x[i * din + j]; // d/dW_rj of mean over outputs
                    sum += g * g;
                }
                Assert.Equal(sum / n, f[r * din + j], 5);
            }
        Assert.Null(layer.Weight.Grad);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.3)]
    [InlineData(0.95)]
    public void Masks_HitTheRequestedSparsity_PerLayerAndGlobally(double sparsity)
    {
        var a = Gaussian(1, 1, 1000).Select(v => (double)v * v).ToArray();
        var b = Gaussian(2, 1, 333).Select(v => 4.0 * v * v).ToArray();
        Assert.Equal((int)Math.Round(sparsity * a.Length), ScoreMasks.ForSparsity(a, sparsity).Count(m => m == 0f));
        var g = ScoreMasks.Global(new Dictionary<string, double[]> { ["a"] = a, ["b"] = b }, sparsity);
        int pruned = g["a"].Count(m => m == 0f) + g["b"].Count(m => m == 0f);
        Assert.Equal((int)Math.Round(sparsity * (a.Length + b.Length)), pruned);
        // One ranking: every pruned score is at most every kept score, across both layers.
        var all = a.Zip(g["a"]).Concat(b.Zip(g["b"])).ToArray();
        if (pruned > 0 && pruned < all.Length)
            Assert.True(all.Where(p => p.Second == 0f).Max(p => p.First) <= all.Where(p => p.Second != 0f).Min(p => p.First));
    }

    [Fact]
    public void TiedScores_ArePrunedByIndex()
    {
        var mask = ScoreMasks.ForSparsity(new double[] { 1, 0, 1, 1, 0 }, 0.6);
        Assert.Equal(new[] { 0f, 0f, 1f, 1f, 0f }, mask);
        Assert.Throws<ArgumentOutOfRangeException>(() => ScoreMasks.ForSparsity(new double[3], -0.1));
        Assert.Throws<ArgumentException>(() => ScoreMasks.ForSparsity(new[] { double.NaN }, 0.5));
    }
}

using DeepShrink.Core;
using DeepShrink.Core.Autograd;

namespace DeepShrink.Core.Tests;

public class OpsQuantTests
{
    private static Tensor Leaf(Tensor t) { t.RequiresGrad = true; return t; }

    [Theory]
    [InlineData(0.05f, 0, -127, 127)]
    [InlineData(0.013f, -20, -128, 127)]
    [InlineData(0.5f, 3, -8, 7)]
    public void FakeQuantize_IsOnTheGrid_ErrorBoundedInRange_ClampedOutside(float scale, int zp, int qmin, int qmax)
    {
        var x = Tensor.Uniform(new Rng(1), -6f, 6f, 4000);
        var y = Ops.FakeQuantize(x, scale, zp, qmin, qmax).ToArray();
        float lo = scale * (qmin - zp), hi = scale * (qmax - zp);
        var xs = x.ToArray();
        for (int i = 0; i < xs.Length; i++)
        {
            // y is exactly scale * (integer code - zp) with the code in range.
            int code = Ops.QuantizeValue(xs[i], scale, zp, qmin, qmax);
            Assert.InRange(code, qmin, qmax);
            Assert.Equal(scale * (float)(code - zp), y[i]);
            if (xs[i] >= lo && xs[i] <= hi) Assert.True(MathF.Abs(xs[i] - y[i]) <= scale / 2 * 1.0001f, $"{xs[i]} -> {y[i]}");
            else Assert.Equal(xs[i] < lo ? lo : hi, y[i], 5);
        }
    }

    [Fact]
    public void FakeQuantize_StraightThrough_PassesInsideAndCancelsOutside()
    {
        var x = Leaf(Tensor.FromArray(new[] { -3f, -0.9f, 0f, 0.26f, 0.99f, 2.5f }, 6));
        var g = Tensor.FromArray(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, 6);
        Ops.FakeQuantize(x, 0.1f, 0, -10, 10).Backward(g); // representable range [-1, 1] (+- half a step)
        Assert.Equal(new[] { 0f, 2f, 3f, 4f, 5f, 0f }, x.Grad!.ToArray());
    }

    [Fact]
    public void FakeQuantize_WithFineSteps_MatchesFiniteDifferencesOfTheComposition()
    {
        // With steps far below the finite-difference h, the STE gradient is the true slope (identity).
        var x = Leaf(Tensor.Uniform(new Rng(2), -1f, 1f, 5, 3));
        var r = GradCheck.Check(t => Ops.Tanh(Ops.MulScalar(Ops.FakeQuantize(t[0], 1e-5f, 0, -1_000_000, 1_000_000), 2f)), new[] { x });
        Assert.True(r.Ok, r.Where);
    }

    [Fact]
    public void BinarizeSte_SignWithZeroPositive_AndHardTanhGradient()
    {
        var x = Leaf(Tensor.FromArray(new[] { -2f, -1f, -0.3f, 0f, 0.7f, 1.5f }, 6));
        var y = Ops.BinarizeSte(x, 1f);
        Assert.Equal(new[] { -1f, -1f, -1f, 1f, 1f, 1f }, y.ToArray());
        y.Backward(Tensor.Full(2f, 6));
        Assert.Equal(new[] { 0f, 2f, 2f, 2f, 2f, 0f }, x.Grad!.ToArray());

        var x2 = Leaf(Tensor.FromArray(new[] { -5f, 7f }, 2));
        Ops.BinarizeSte(x2, float.PositiveInfinity).Backward(Tensor.Ones(2));
        Assert.Equal(new[] { 1f, 1f }, x2.Grad!.ToArray());
    }

    [Theory]
    [InlineData(16, 14)]
    [InlineData(12, 10)]
    [InlineData(8, 4)]
    public void RoundFixed_Nearest_IsOnGrid_WithinHalfStep_Saturates(int wl, int fl)
    {
        double eps = Math.ScaleB(1.0, -fl), max = (Math.ScaleB(1.0, wl - 1) - 1) * eps, min = -Math.ScaleB(1.0, wl - 1) * eps;
        var rng = new Rng(3);
        for (int i = 0; i < 2000; i++)
        {
            float x = (float)((rng.NextDouble() * 2 - 1) * max * 1.3);
            float r = Ops.RoundFixed(x, wl, fl, false);
            double k = r / eps;
            Assert.Equal(Math.Round(k), k);
            Assert.InRange(r, min, max);
            if (x >= min && x <= max) Assert.True(Math.Abs(x - r) <= eps / 2 + 1e-12, $"{x} -> {r}");
            else Assert.Equal(x > max ? max : min, r, 6);
        }
        // Ties round up (Gupta et al.: floor(x) + eps when x - floor(x) >= eps / 2).
        Assert.Equal((float)eps, Ops.RoundFixed((float)(eps / 2), wl, fl, false));
        Assert.Equal(0f, Ops.RoundFixed((float)(-eps / 2), wl, fl, false));
    }

    [Fact]
    public void RoundFixed_Stochastic_IsUnbiased_AndOnlyPicksNeighbours()
    {
        const int wl = 8, fl = 4; // eps = 1/16
        var rng = new Rng(4);
        foreach (float x in new[] { 0.01f, 0.3f, -0.47f, 1.0f / 3 })
        {
            double eps = 1.0 / 16, lo = Math.Floor(x / eps) * eps;
            const int n = 40_000;
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                float r = Ops.RoundFixed(x, wl, fl, true, rng.NextFloat());
                Assert.True(Math.Abs(r - lo) < 1e-9 || Math.Abs(r - (lo + eps)) < 1e-9, $"{x} -> {r}");
                sum += r;
            }
            // Bernoulli variance <= eps^2 / 4: 5 standard errors.
            double se = eps / 2 / Math.Sqrt(n);
            Assert.True(Math.Abs(sum / n - x) < 5 * se, $"mean {sum / n} vs {x}");
        }
    }

    [Fact]
    public void FixedPointRound_RoundsForward_AndRoundsGradientsToTheirFormat()
    {
        var x = Leaf(Tensor.FromArray(new[] { 0.1234f, -0.5f, 3.9f, 9f }, 4)); // <8, 4>: range [-8, 7.9375]
        var y = Ops.FixedPointRound(x, 8, 4, 8, 6, null);
        Assert.Equal(new[] { 0.125f, -0.5f, 3.875f, 7.9375f }, y.ToArray());
        y.Backward(Tensor.FromArray(new[] { 0.1f, 0.2f, -0.3f, 1f }, 4));
        // Gradient format <8, 6>: multiples of 1/64, to nearest; saturated input gets no gradient.
        Assert.Equal(new[] { 0.09375f, 0.203125f, -0.296875f, 0f }, x.Grad!.ToArray());
    }
}

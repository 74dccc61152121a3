using DeepShrink.Core;
using DeepShrink.Nn.Optim;

namespace DeepShrink.Nn.Tests;

public class OptimizerTests
{
    private static (string, Tensor)[] One(float w, float g)
    {
        var t = Tensor.FromArray(new[] { w }, 1); t.RequiresGrad = true;
        t.Grad = Tensor.FromArray(new[] { g }, 1);
        return new[] { ("w", t) };
    }

    [Fact]
    public void Sgd_Momentum_Nesterov_WeightDecay_MatchHandComputation()
    {
        // plain: w = 1 - 0.1*2 = 0.8
        var p = One(1f, 2f); new Sgd(p, 0.1f).Step();
        Assert.Equal(0.8f, p[0].Item2.Item(), 6);
        // momentum 0.9, two steps with constant grad 2: v1 = 2, w1 = 0.8; v2 = 3.8, w2 = 0.42
        p = One(1f, 2f); var s = new Sgd(p, 0.1f, momentum: 0.9f); s.Step(); s.Step();
        Assert.Equal(0.42f, p[0].Item2.Item(), 5);
        // nesterov step 1: v = 2; step = g + mu v = 3.8; w = 1 - 0.38 = 0.62
        p = One(1f, 2f); new Sgd(p, 0.1f, momentum: 0.9f, nesterov: true).Step();
        Assert.Equal(0.62f, p[0].Item2.Item(), 5);
        // weight decay 0.5: g' = 2 + 0.5 = 2.5; w = 1 - 0.25 = 0.75
        p = One(1f, 2f); new Sgd(p, 0.1f, weightDecay: 0.5f).Step();
        Assert.Equal(0.75f, p[0].Item2.Item(), 6);
    }

    [Fact]
    public void Adam_FirstStep_IsLrTimesSign_AndAdamWDecouples()
    {
        var p = One(1f, -3f); new Adam(p, lr: 0.01f).Step();
        Assert.Equal(1.01f, p[0].Item2.Item(), 5);
        // AdamW: w = 1 - lr*wd*1 = 0.999, then - lr*sign(g) = 0.989
        p = One(1f, 3f); Adam.AdamW(p, lr: 0.01f, weightDecay: 0.1f).Step();
        Assert.Equal(0.989f, p[0].Item2.Item(), 5);
    }

    [Fact]
    public void Schedules()
    {
        Assert.Equal(0.01f, new StepLr(10, 0.1f).Factor(25), 6);
        Assert.Equal(1f, new CosineLr(10).Factor(0), 6);
        Assert.Equal(0.5f, new CosineLr(10).Factor(5), 5);
        Assert.Equal(0f, new CosineLr(10).Factor(10), 6);
        var w = new WarmupLr(2, LrSchedule.Constant);
        Assert.True(w.Factor(0) < 0.01f);
        Assert.Equal(0.5f, w.Factor(1), 2);
        Assert.Equal(1f, w.Factor(3));
    }

    [Fact]
    public void InvalidHyperParameters_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(One(1, 1), -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(One(1, 1), 0.1f, momentum: 1.5f));
        Assert.Throws<ArgumentException>(() => new Sgd(One(1, 1), 0.1f, nesterov: true));
    }
}

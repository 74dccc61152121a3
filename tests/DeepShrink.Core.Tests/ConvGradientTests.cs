using DeepShrink.Core;
using static DeepShrink.Core.Tests.ConvTestUtil;

namespace DeepShrink.Core.Tests;

/// <summary>Ops.Conv2d: gradients against finite differences, shape checks, values against the reference.</summary>
public class ConvGradientTests
{
    [Theory]
    // n, c, h, w, o, k, stride, pad, dil, groups
    [InlineData(2, 3, 7, 6, 4, 3, 1, 0, 1, 1)]
    [InlineData(1, 2, 9, 8, 3, 3, 2, 1, 1, 1)]    // stride 2, padding
    [InlineData(2, 2, 9, 9, 2, 3, 1, 2, 2, 1)]    // dilation 2
    [InlineData(1, 4, 6, 7, 6, 3, 1, 1, 1, 2)]    // groups 2
    [InlineData(2, 3, 7, 5, 3, 3, 2, 1, 1, 3)]    // depthwise, stride 2
    [InlineData(1, 3, 5, 5, 2, 1, 1, 0, 1, 1)]    // pointwise
    [InlineData(3, 1, 5, 5, 2, 5, 1, 2, 1, 1)]    // 5x5 'same'
    public void Conv2d_GradientsMatchFiniteDifferences(int n, int c, int h, int w, int o, int k, int stride, int pad, int dil, int groups)
    {
        var rng = new Rng((ulong)(n * 1000 + c * 100 + h * 10 + groups));
        var x = Leaf(rng, n, c, h, w);
        var wt = Leaf(rng, o, c / groups, k, k);
        var b = Leaf(rng, o);
        AssertGrad(t => Ops.Conv2d(t[0], t[1], t[2], stride, pad, dil, groups), x, wt, b);
        AssertGrad(t => Ops.Conv2d(t[0], t[1], null, stride, pad, dil, groups), x, wt);
    }

    [Fact]
    public void Conv2d_PerAxisParameters_GradientsMatch()
    {
        var rng = new Rng(77);
        var x = Leaf(rng, 2, 2, 8, 7);
        var wt = Leaf(rng, 3, 2, 3, 2);
        AssertGrad(t => Ops.Conv2d(t[0], t[1], null, (2, 1), (1, 0), (1, 2), 1), x, wt);
    }

    [Fact]
    public void Conv2d_ValueMatchesHandComputation()
    {
        // 1x1x3x3 input 1..9, 2x2 kernel of ones, bias 0.5: each output is the sum of a 2x2 block + 0.5.
        var x = Tensor.FromArray(Enumerable.Range(1, 9).Select(i => (float)i).ToArray(), 1, 1, 3, 3);
        var y = Ops.Conv2d(x, Tensor.Ones(1, 1, 2, 2), Tensor.Full(0.5f, 1));
        Assert.Equal(new[] { 12.5f, 16.5f, 24.5f, 28.5f }, y.ToArray());
        // padding 1, stride 2: corners see one pixel each plus their neighbours inside the image.
        var yp = Ops.Conv2d(x, Tensor.Ones(1, 1, 2, 2), null, stride: 2, padding: 1);
        Assert.Equal(new[] { 1f, 5f, 11f, 28f }, yp.ToArray());
    }

    [Fact]
    public void Conv2d_NonContiguousInput_Works()
    {
        var rng = new Rng(3);
        var xt = Tensor.Uniform(rng, -1f, 1f, 2, 3, 6, 5);
        var view = Ops.Transpose(xt, 2, 3); // [2, 3, 5, 6], strided
        var w = Tensor.Uniform(rng, -1f, 1f, 4, 3, 3, 3);
        var expected = Ops.Conv2d(view.ContiguousData().Clone(), w, null);
        Assert.Equal(expected.ToArray(), Ops.Conv2d(view, w, null).ToArray());
    }

    [Fact]
    public void Conv2d_RejectsBadShapes_WithClearMessages()
    {
        var x = Tensor.Zeros(2, 4, 8, 8);
        var e1 = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, Tensor.Zeros(6, 3, 3, 3), null));
        Assert.Contains("expected [6, 4, kh, kw]", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(4, 8, 8), Tensor.Zeros(6, 4, 3, 3), null));
        Assert.Contains("4-D", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, Tensor.Zeros(6, 4, 3, 3), Tensor.Zeros(5)));
        Assert.Contains("expected [6]", e3.Message);
        var e4 = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, Tensor.Zeros(6, 2, 3, 3), null, groups: 3));
        Assert.Contains("groups=3", e4.Message);
        var e5 = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, Tensor.Zeros(6, 4, 9, 9), null));
        Assert.Contains("larger than the padded input", e5.Message);
        Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, Tensor.Zeros(6, 4, 3, 3), null, stride: 0));
    }
}

using DeepShrink.Core.Kernels;
using static DeepShrink.Core.Tests.ConvTestUtil;

namespace DeepShrink.Core.Tests;

/// <summary>The depthwise stencil kernel against the float64 reference convolution.</summary>
public class DepthwiseConvTests
{
    [Theory]
    // n, c, h, w, k, stride, pad, dilation: stride 1 (vector rows and scalar tails), stride 2, dilation, 5x5, 1 x 1 maps,
    // unpadded, and rows narrower than one vector
    [InlineData(1, 32, 8, 8, 3, 1, 1, 1)]
    [InlineData(2, 16, 17, 13, 3, 1, 1, 1)]
    [InlineData(1, 24, 16, 16, 3, 2, 1, 1)]
    [InlineData(3, 8, 9, 11, 3, 1, 2, 2)]
    [InlineData(1, 12, 10, 10, 5, 1, 2, 1)]
    [InlineData(2, 64, 1, 1, 3, 1, 1, 1)]
    [InlineData(1, 6, 7, 20, 3, 1, 0, 1)]
    [InlineData(2, 5, 4, 4, 3, 2, 1, 1)]
    [InlineData(1, 16, 32, 37, 3, 2, 1, 1)]  // stride 2 with whole vectors and tails
    [InlineData(2, 8, 21, 40, 3, 2, 2, 2)]   // stride 2, dilation 2
    [InlineData(1, 4, 19, 33, 5, 2, 2, 1)]   // stride 2, 5 x 5
    [InlineData(1, 4, 9, 35, 3, 3, 1, 1)]    // stride 3: scalar
    [InlineData(2, 16, 4, 6, 3, 1, 1, 1)]    // rows of 4 .. 7 outputs: 128-bit vectors
    [InlineData(2, 16, 8, 13, 3, 2, 1, 1)]   // the same at stride 2
    public void MatchesTheReference(int n, int c, int h, int w, int k, int stride, int pad, int dilation)
    {
        var g = new ConvGeometry(n, c, h, w, c, k, k, stride, stride, pad, pad, dilation, dilation, c);
        Assert.True(DepthwiseConv.Supports(g));
        var rng = new Rng((ulong)(n * 1000 + c * 10 + h + k));
        var x = Uniform(rng, g.InputSize); var wt = Uniform(rng, g.WeightSize); var b = Uniform(rng, c);
        var want = new float[g.OutputSize];
        ConvReference.Forward(g, x, wt, b, want);
        foreach (int threads in new[] { 1, 2 })
        {
            var y = Nan(g.OutputSize);
            DepthwiseConv.Forward(g, x, wt, b, y, threads);
            AssertClose(y, want, 1e-5, $"depthwise {g.InputShapeText} k{k} s{stride} p{pad} d{dilation} threads {threads}");
            var nb = Nan(g.OutputSize);
            DepthwiseConv.Forward(g, x, wt, default, nb, threads);
            var wantNb = new float[g.OutputSize];
            ConvReference.Forward(g, x, wt, default, wantNb);
            AssertClose(nb, wantNb, 1e-5, "without bias");
        }
    }

    [Fact]
    public void RefusesOtherGroupings()
    {
        var grouped = new ConvGeometry(1, 8, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 4);
        Assert.False(DepthwiseConv.Supports(grouped));
        var multiplier = new ConvGeometry(1, 8, 6, 6, 16, 3, 3, 1, 1, 1, 1, 1, 1, 8);
        Assert.False(DepthwiseConv.Supports(multiplier));
        Assert.Throws<ArgumentException>(() => DepthwiseConv.Forward(grouped, new float[grouped.InputSize], new float[grouped.WeightSize], default, new float[grouped.OutputSize]));
    }
}

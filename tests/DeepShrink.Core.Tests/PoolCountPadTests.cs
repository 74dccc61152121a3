using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

/// <summary>Average pooling without counting the padding (ONNX count_include_pad = 0): kernel against reference.</summary>
public class PoolCountPadTests
{
    [Fact]
    public void ExcludedPaddingMatchesTheReferenceForwardAndBackward()
    {
        ulong seed = 11;
        foreach (var g in new[]
        {
            new PoolGeometry(2, 3, 7, 9, 3, 3, 2, 2, 1, 1), new PoolGeometry(1, 2, 11, 6, 3, 2, 2, 1, 1, 1),
            new PoolGeometry(3, 1, 5, 8, 2, 4, 1, 3, 1, 2), new PoolGeometry(2, 2, 6, 6, 2, 2, 2, 2),
        })
        {
            var rng = new Rng(seed++);
            var x = Tensor.Randn(rng, 1f, g.InputSize).Span.ToArray();
            var dy = Tensor.Randn(rng, 1f, g.OutputSize).Span.ToArray();
            var yRef = new float[g.OutputSize];
            var y = new float[g.OutputSize];
            PoolReference.AvgForward(g, x, yRef, countIncludePad: false);
            PoolKernels.AvgForward(g, x, y, countIncludePad: false);
            for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(y[i] - yRef[i]) <= 1e-6, $"forward {g} at {i}");
            var dxRef = new float[g.InputSize];
            var dx = new float[g.InputSize];
            PoolReference.AvgBackward(g, dy, dxRef, countIncludePad: false);
            PoolKernels.AvgBackward(g, dy, dx, countIncludePad: false);
            for (int i = 0; i < dx.Length; i++) Assert.True(Math.Abs(dx[i] - dxRef[i]) <= 1e-6, $"backward {g} at {i}");
        }
    }

    [Fact]
    public void CornerWindowIsTheMeanOfItsRealPixelsOnly()
    {
        // 3x3 plane, 3x3 window, stride 2, pad 1: the top-left window covers the 2x2 corner.
        var g = new PoolGeometry(1, 1, 3, 3, 3, 3, 2, 2, 1, 1);
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        var excl = new float[g.OutputSize];
        var incl = new float[g.OutputSize];
        PoolKernels.AvgForward(g, x, excl, countIncludePad: false);
        PoolKernels.AvgForward(g, x, incl, countIncludePad: true);
        Assert.Equal((1 + 2 + 4 + 5) / 4f, excl[0]);
        Assert.Equal((1 + 2 + 4 + 5) / 9f, incl[0], 6);
        Assert.Equal((5 + 6 + 8 + 9) / 4f, excl[3]);
    }
}

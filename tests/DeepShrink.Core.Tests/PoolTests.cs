using DeepShrink.Core;
using DeepShrink.Core.Kernels;
using static DeepShrink.Core.Tests.ConvTestUtil;

namespace DeepShrink.Core.Tests;

/// <summary>Pooling kernels against the scalar reference, pooling ops against finite differences.</summary>
public class PoolTests
{
    private static IEnumerable<PoolGeometry> SampledGeometries(ulong seed, int count)
    {
        var rng = new Rng(seed);
        int done = 0;
        while (done < count)
        {
            int kh = 1 + rng.NextInt(4), kw = 1 + rng.NextInt(4);
            int ph = rng.NextInt(kh / 2 + 1), pw = rng.NextInt(kw / 2 + 1);
            int h = 1 + rng.NextInt(rng.NextInt(3) == 0 ? 70 : 12), w = 1 + rng.NextInt(rng.NextInt(3) == 0 ? 70 : 12);
            if (kh > h + 2 * ph || kw > w + 2 * pw) continue;
            done++;
            yield return new PoolGeometry(1 + rng.NextInt(3), 1 + rng.NextInt(rng.NextInt(3) == 0 ? 70 : 5), h, w, kh, kw, 1 + rng.NextInt(3), 1 + rng.NextInt(3), ph, pw);
        }
    }

    [Fact]
    public void Kernels_MatchReference_Sampled()
    {
        ulong seed = 100;
        foreach (var g in SampledGeometries(4242, 80).Append(new PoolGeometry(64, 20, 24, 24, 2, 2, 2, 2))
                     .Append(new PoolGeometry(64, 50, 8, 8, 2, 2, 2, 2)).Append(new PoolGeometry(3, 5, 11, 14, 2, 2, 2, 2)))
        {
            var rng = new Rng(seed++);
            var x = Uniform(rng, g.InputSize); var dy = Uniform(rng, g.OutputSize);
            var yRef = new float[g.OutputSize]; var y = Nan(g.OutputSize);
            var aRef = new int[g.OutputSize]; var a = new int[g.OutputSize];
            PoolReference.MaxForward(g, x, yRef, aRef);
            PoolKernels.MaxForward(g, x, y, a);
            Assert.Equal(yRef, y);
            Assert.Equal(aRef, a);
            var dxRef = new float[g.InputSize]; var dx = Nan(g.InputSize);
            PoolReference.MaxBackward(g, dy, aRef, dxRef);
            PoolKernels.MaxBackward(g, dy, a, dx);
            AssertClose(dx, dxRef, 1e-6, $"max backward {g}");

            PoolReference.AvgForward(g, x, yRef);
            Array.Fill(y, float.NaN);
            PoolKernels.AvgForward(g, x, y);
            AssertClose(y, yRef, 1e-6, $"avg forward {g}");
            PoolReference.AvgBackward(g, dy, dxRef);
            Array.Fill(dx, float.NaN);
            PoolKernels.AvgBackward(g, dy, dx);
            AssertClose(dx, dxRef, 1e-6, $"avg backward {g}");
        }
    }

    [Fact]
    public void MaxPool_Ties_PickFirstInWindow_AndPaddingNeverWins()
    {
        // All-equal 4x4 plane, 2x2 windows stride 2: the gradient lands on each window's top-left pixel.
        var x = Tensor.Full(3f, 1, 1, 4, 4); x.RequiresGrad = true;
        var y = Ops.MaxPool2d(x, 2, 2);
        Assert.Equal(new[] { 3f, 3f, 3f, 3f }, y.ToArray());
        y.Backward(Tensor.FromArray(new[] { 1f, 2f, 3f, 4f }, 1, 1, 2, 2));
        Assert.Equal(new float[] { 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0 }, x.Grad!.ToArray());

        // Overlapping 3x3 windows, stride 1, padding 1, all values -5: padding (zeros) must not win,
        // and overlapping windows add their gradients on the shared first pixel.
        var xn = Tensor.Full(-5f, 1, 1, 3, 3); xn.RequiresGrad = true;
        var yn = Ops.MaxPool2d(xn, 3, 1, 1);
        Assert.All(yn.ToArray(), v => Assert.Equal(-5f, v));
        yn.Backward(Tensor.Ones(1, 1, 3, 3));
        // windows centred at rows/cols 0,1 start at pixel (0,0); those centred at 2 start at 1.
        Assert.Equal(new float[] { 4, 2, 0, 2, 1, 0, 0, 0, 0 }, xn.Grad!.ToArray());
    }

    [Theory]
    // k, stride, pad, width: wide rows use 8-output blocks, widths giving 4..7 outputs use two-row blocks;
    // 2x2 stride 2 unpadded windows use groups of 4 outputs (PoolMax2x2) from width 8 on
    [InlineData(2, 2, 0, 45)]
    [InlineData(3, 2, 1, 45)]
    [InlineData(3, 1, 1, 45)]
    [InlineData(2, 1, 0, 45)]
    [InlineData(5, 2, 2, 45)]
    [InlineData(2, 2, 0, 8)]
    [InlineData(2, 2, 0, 9)]   // 2x2 stride 2: 4 outputs per row, odd width
    [InlineData(2, 2, 0, 10)]  // 5 outputs: the last group of 4 overlaps
    [InlineData(2, 2, 0, 24)]  // 3 groups per row
    [InlineData(3, 2, 1, 13)]
    [InlineData(3, 1, 0, 6)]
    [InlineData(2, 1, 1, 7)]
    public void MaxPool_TiesAndNaN_MatchReference(int k, int stride, int pad, int width)
    {
        // Values from {0, 1, 2} (many ties) with a few NaNs.
        var rng = new Rng((ulong)(k * 10 + stride + width * 100));
        var g = new PoolGeometry(2, 3, 9, width, k, k, stride, stride, pad, pad);
        var x = new float[g.InputSize];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextInt(40) == 0 ? float.NaN : rng.NextInt(3);
        var yRef = new float[g.OutputSize]; var y = new float[g.OutputSize];
        var aRef = new int[g.OutputSize]; var a = new int[g.OutputSize];
        PoolReference.MaxForward(g, x, yRef, aRef);
        PoolKernels.MaxForward(g, x, y, a);
        Assert.Equal(aRef, a);
        Assert.Equal(yRef, y); // NaN equals NaN for xunit float arrays
    }

    [Fact]
    public void PaddedMaxPool_WithoutArgmax_IsBitIdenticalToTheReference()
    {
        // Without arg-max, padded planes (and narrow unpadded 2x2 ones) are copied into -inf borders first: the values, -0.0 against +0.0,
        // -inf-only windows and NaNs must come out exactly as from the clipped windows of the reference.
        float[] pool = [float.NegativeInfinity, -1f, -0f, 0f, 1f, 2f, float.NaN];
        var rng = new Rng(77);
        var cases = SampledGeometries(991, 60).Where(g => g.PH > 0 || g.PW > 0 || (g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2))
            .Append(new PoolGeometry(1, 64, 16, 16, 3, 3, 2, 2, 1, 1)).Append(new PoolGeometry(2, 5, 4, 4, 3, 3, 2, 2, 1, 1))
            .Append(new PoolGeometry(1, 3, 1, 1, 3, 3, 1, 1, 1, 1)).Append(new PoolGeometry(1, 2, 7, 30, 5, 3, 1, 2, 2, 1))
            // unpadded 2x2 stride 2 on planes narrower than 8 (widened with -inf columns): 7 x 7, odd and tiny sizes
            .Append(new PoolGeometry(2, 16, 7, 7, 2, 2, 2, 2)).Append(new PoolGeometry(1, 5, 5, 3, 2, 2, 2, 2)).Append(new PoolGeometry(1, 4, 2, 2, 2, 2, 2, 2)).ToList();
        Assert.True(cases.Count > 20);
        foreach (var g in cases)
            foreach (bool rare in new[] { true, false })
            {
                var x = new float[g.InputSize];
                for (int i = 0; i < x.Length; i++) x[i] = rare && rng.NextInt(4) != 0 ? rng.NextInt(3) : pool[rng.NextInt(pool.Length)];
                var yRef = new float[g.OutputSize]; var y = Nan(g.OutputSize);
                PoolReference.MaxForward(g, x, yRef, new int[g.OutputSize]);
                PoolKernels.MaxForward(g, x, y, default, threads: 2);
                Assert.Equal(yRef.Select(BitConverter.SingleToInt32Bits), y.Select(BitConverter.SingleToInt32Bits));
            }
    }

    [Fact]
    public void LargePlaneMaxPool_WithoutArgmax_IsBitIdenticalToTheReference()
    {
        // Planes too large for the -inf bordered copy run as separable row passes (AVX-512): the first maximum, -0.0 against
        // +0.0 and the first NaN must come out exactly as from the reference's row-major scan, at both borders and in the
        // overlapping last vector block, for strides 1 and 2, odd widths and windows wider than the padding.
        float[] pool = [float.NegativeInfinity, -1f, -0f, 0f, 1f, 2f, float.NaN];
        var rng = new Rng(78);
        var cases = new[]
        {
            new PoolGeometry(1, 3, 112, 112, 3, 3, 2, 2, 1, 1), // ResNet's stem pool
            new PoolGeometry(2, 2, 91, 97, 3, 3, 2, 2, 1, 1),
            new PoolGeometry(1, 2, 95, 101, 5, 4, 1, 2, 2, 1),
            new PoolGeometry(1, 2, 90, 93, 3, 3, 1, 1, 1, 1),
            new PoolGeometry(1, 1, 100, 99, 2, 5, 2, 1, 0, 2),
            new PoolGeometry(1, 1, 200, 47, 3, 3, 2, 2, 1, 1),  // 24 outputs per row: one block and an overlapping one
        };
        foreach (var g in cases)
            foreach (bool rare in new[] { true, false })
            {
                var x = new float[g.InputSize];
                for (int i = 0; i < x.Length; i++) x[i] = rare && rng.NextInt(4) != 0 ? rng.NextInt(3) : pool[rng.NextInt(pool.Length)];
                var yRef = new float[g.OutputSize]; var y = Nan(g.OutputSize);
                PoolReference.MaxForward(g, x, yRef, new int[g.OutputSize]);
                PoolKernels.MaxForward(g, x, y, default, threads: 2);
                Assert.Equal(yRef.Select(BitConverter.SingleToInt32Bits), y.Select(BitConverter.SingleToInt32Bits));
            }
    }

    [Fact]
    public void MaxPool_NaN_Propagates()
    {
        var x = Tensor.FromArray(new[] { 1f, float.NaN, 2f, 0f }, 1, 1, 2, 2);
        Assert.True(float.IsNaN(Ops.MaxPool2d(x, 2, 2).Item()));
    }

    [Theory]
    // n, c, h, w, k, stride, pad
    [InlineData(2, 3, 6, 6, 2, 2, 0)]
    [InlineData(1, 2, 7, 5, 3, 2, 1)]
    [InlineData(2, 1, 5, 7, 3, 1, 1)]
    [InlineData(1, 3, 9, 9, 2, 3, 1)]
    public void PoolOps_GradientsMatchFiniteDifferences(int n, int c, int h, int w, int k, int stride, int pad)
    {
        // Distinct values 0.05 apart (shuffled) so the +-0.01 perturbation never changes a max.
        var rng = new Rng((ulong)(n * 100 + h * 10 + k));
        int size = n * c * h * w;
        var vals = Enumerable.Range(0, size).Select(i => (i - size / 2) * 0.05f).ToArray();
        for (int i = size - 1; i > 0; i--) { int j = rng.NextInt(i + 1); (vals[i], vals[j]) = (vals[j], vals[i]); }
        var x = Tensor.FromArray(vals, n, c, h, w); x.RequiresGrad = true;
        AssertGrad(t => Ops.MaxPool2d(t[0], k, stride, pad), x);
        AssertGrad(t => Ops.AvgPool2d(t[0], k, stride, pad), Leaf(rng, n, c, h, w));
        AssertGrad(t => Ops.GlobalAvgPool2d(t[0]), Leaf(rng, n, c, h, w));
    }

    [Fact]
    public void AvgPool_CountsPaddingAsZeros()
    {
        // 2x2 ones, window 2 stride 2 padding 1: each window holds one real pixel -> 1/4.
        var y = Ops.AvgPool2d(Tensor.Ones(1, 1, 2, 2), 2, 2, 1);
        Assert.Equal(new[] { 0.25f, 0.25f, 0.25f, 0.25f }, y.ToArray());
        var x = Tensor.FromArray(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, 1, 2, 1, 3);
        var gy = Ops.GlobalAvgPool2d(x);
        Assert.Equal(new[] { 1, 2, 1, 1 }, gy.Shape);
        Assert.Equal(new[] { 2f, 5f }, gy.ToArray());
    }

    [Fact]
    public void PoolOps_RejectBadArguments()
    {
        var x = Tensor.Zeros(1, 2, 5, 5);
        Assert.Contains("4-D", Assert.Throws<ArgumentException>(() => Ops.MaxPool2d(Tensor.Zeros(2, 5, 5), 2, 2)).Message);
        Assert.Contains("padding", Assert.Throws<ArgumentException>(() => Ops.MaxPool2d(x, 2, 2, 2)).Message);
        Assert.Contains("stride", Assert.Throws<ArgumentException>(() => Ops.AvgPool2d(x, 2, 0)).Message);
        Assert.Contains("larger than the padded input", Assert.Throws<ArgumentException>(() => Ops.AvgPool2d(x, 7, 1)).Message);
        Assert.Throws<ArgumentException>(() => Ops.GlobalAvgPool2d(Tensor.Zeros(3, 4)));
        var g = new PoolGeometry(1, 1, 4, 4, 2, 2, 2, 2);
        Assert.Throws<ArgumentException>(() => PoolKernels.MaxBackward(g, new float[4], new[] { 0, 1, 2, 16 }, new float[16]));
    }
}

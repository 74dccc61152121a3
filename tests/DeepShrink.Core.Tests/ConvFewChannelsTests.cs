using System.Runtime.Intrinsics.X86;
using DeepShrink.Core.Kernels;
using static DeepShrink.Core.Tests.ConvTestUtil;

namespace DeepShrink.Core.Tests;

/// <summary>
/// The few-channel direct convolution (an image network's stem) against the reference convolution, alone and with the
/// 3 x 3 / 2 max pool fused: strides 1 to 3, dilation, kernel sizes 3 to 7, padding 0 to 3, widths that leave partial
/// tiles and transposes, both register blocks (64 and 16 channels), odd heights, batches cut into row bands or image by image, 1 to 3 threads.
/// Tolerance: the sums run in tap order in float32 (the reference in double), about 1e-6 sqrt(taps) of |y|.
/// </summary>
public class ConvFewChannelsTests
{
    public static TheoryData<ConvGeometry> Geometries() => new()
    {
        new ConvGeometry(1, 3, 56, 56, 64, 7, 7, 2, 2, 3, 3),     // a 224 x 224 stem scaled down (28 x 28 out)
        new ConvGeometry(1, 3, 37, 45, 80, 7, 7, 2, 2, 3, 3),     // odd sizes: 19 x 23 out (a partial tile), 64 + 16 channels
        new ConvGeometry(1, 1, 20, 40, 16, 3, 3, 1, 1, 1, 1),     // stride 1, grey input, one 16-channel block
        new ConvGeometry(1, 2, 9, 260, 48, 5, 5, 1, 2, 2, 0),     // stride 1 down, 2 across, 128 out, three 16-channel blocks
        new ConvGeometry(1, 4, 30, 34, 32, 3, 3, 2, 2, 0, 0),     // no padding, 16 out
        new ConvGeometry(1, 3, 230, 230, 64, 7, 7, 2, 2, 3, 3),   // 115 x 115 out: partial tiles and transposes
        new ConvGeometry(1, 3, 31, 29, 128, 5, 3, 3, 3, 2, 1),    // stride 3, two blocks of 64
        new ConvGeometry(1, 2, 24, 26, 64, 3, 3, 1, 2, 2, 2, groups: 1, dh: 2, dw: 2), // dilated
    };

    private static (float[] Conv, float[] Pooled, PoolGeometry Pool) Reference(ConvGeometry g, float[] x, float[] w, float[] bias, bool relu)
    {
        var y = new float[g.OutputSize];
        ConvReference.Forward(g, x, w, bias, y);
        if (relu) for (int i = 0; i < y.Length; i++) y[i] = Math.Max(y[i], 0f);
        var p = new PoolGeometry(g.N, g.O, g.OH, g.OW, 3, 3, 2, 2, 1, 1);
        var pooled = new float[p.OutputSize];
        PoolReference.MaxForward(p, y, pooled, new int[p.OutputSize]);
        return (y, pooled, p);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Forward_matches_the_reference_convolution_alone_and_with_the_pool_fused(ConvGeometry one)
    {
        if (!Avx512F.IsSupported) return; // the kernel is never chosen without AVX-512 (Supports is false)
        foreach (int batch in new[] { 1, 3 })
            foreach (bool relu in new[] { true, false })
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    var g = one with { N = batch };
                    var rng = new Rng((ulong)(g.C * 131 + g.W + batch));
                    var x = Uniform(rng, g.InputSize);
                    var w = Uniform(rng, g.WeightSize);
                    var bias = Uniform(rng, g.O);
                    var (conv, pooled, p) = Reference(g, x, w, bias, relu);
                    double tol = 2e-6 * Math.Sqrt(g.C * g.KH * g.KW);
                    string what = $"{g} batch {batch} relu {relu} threads {threads}";

                    var k = new ConvFewChannels(g, w, bias);
                    var got = Nan(conv.Length);
                    k.Forward(batch, x, got, relu, threads);
                    AssertClose(got, conv, tol, what);

                    var kp = new ConvFewChannels(g, w, bias, p);
                    var gotPooled = Nan(pooled.Length);
                    kp.Forward(batch, x, gotPooled, relu, threads);
                    AssertClose(gotPooled, pooled, tol, what + " pooled");
                }
    }

    [Fact]
    public void Without_bias_the_outputs_are_the_plain_convolution()
    {
        if (!Avx512F.IsSupported) return; // the kernel is never chosen without AVX-512 (Supports is false)
        var g = new ConvGeometry(2, 3, 21, 33, 16, 3, 3, 2, 2, 1, 1);
        var rng = new Rng(5);
        var x = Uniform(rng, g.InputSize);
        var w = Uniform(rng, g.WeightSize);
        var (conv, _, _) = Reference(g, x, w, [], relu: false);
        var got = Nan(conv.Length);
        new ConvFewChannels(g, w, []).Forward(2, x, got, relu: false, threads: 2);
        AssertClose(got, conv, 2e-6 * Math.Sqrt(27), "no bias");
    }

    [Fact]
    public void Unsupported_geometries_and_pools_are_refused()
    {
        Assert.False(ConvFewChannels.Supports(new ConvGeometry(1, 16, 20, 40, 8, 3, 3, 1, 1, 1, 1)));  // many channels
        Assert.False(ConvFewChannels.Supports(new ConvGeometry(1, 3, 20, 40, 24, 3, 3, 1, 1, 1, 1)));  // O not a multiple of 16
        Assert.False(ConvFewChannels.Supports(new ConvGeometry(1, 4, 20, 40, 32, 3, 3, 1, 1, 1, 1, groups: 2))); // grouped
        var g = new ConvGeometry(1, 3, 56, 56, 16, 7, 7, 2, 2, 3, 3);
        Assert.True(ConvFewChannels.FusesPool(g, new PoolGeometry(1, 16, 28, 28, 3, 3, 2, 2, 1, 1)));
        Assert.False(ConvFewChannels.FusesPool(g, new PoolGeometry(1, 16, 28, 28, 2, 2, 2, 2, 0, 0)));  // 2 x 2 pool
        Assert.False(ConvFewChannels.FusesPool(g, new PoolGeometry(1, 16, 28, 28, 3, 3, 1, 1, 1, 1)));  // stride 1 pool
        if (Avx512F.IsSupported)
            Assert.Throws<ArgumentException>(() => new ConvFewChannels(g, new float[g.WeightSize], [], new PoolGeometry(1, 16, 28, 28, 3, 3, 1, 1, 1, 1)));
    }
}

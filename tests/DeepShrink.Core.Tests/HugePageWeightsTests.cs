using DeepShrink.Core.Kernels;
using static DeepShrink.Core.Tests.ConvTestUtil;

namespace DeepShrink.Core.Tests;

/// <summary>Weights copied to 2 MB pages compute exactly what the managed copy computes.</summary>
public class HugePageWeightsTests
{
    [Fact]
    public void The_copy_holds_the_values_and_is_2MB_aligned()
    {
        var rng = new Rng(3);
        var data = Uniform(rng, (3 << 20) / 4 + 5); // 3 MB and a bit: two huge pages
        var copy = HugePageWeights.TryCopy(data)!;
        Assert.Equal(data.Length, copy.Length);
        unsafe
        {
            Assert.Equal(0, (long)copy.Pointer % (2 << 20));
            Assert.True(new ReadOnlySpan<float>(copy.Pointer, copy.Length).SequenceEqual(data));
        }
        Assert.Null(HugePageWeights.TryCopy(new float[1000])); // below MinBytes: stays on the managed heap
    }

    [Theory]
    [InlineData(256, 256, 14, 1, 1)] // 2.4 MB of weights: a ResNet18 layer3 conv
    [InlineData(64, 32, 9, 2, 1)]    // small: through the huge-page path only with MinBytes forced to 0
    public void Indirect_convolution_is_bit_identical_with_weights_on_huge_pages(int o, int c, int hw, int stride, int batch)
    {
        var g = new ConvGeometry(1, c, hw, hw, o, 3, 3, stride, stride, 1, 1, 1, 1, 1);
        if (!PackedConv.Supports(g, ConvLayout.Indirect)) return; // AVX-512 only
        var rng = new Rng(11);
        var w = Uniform(rng, g.WeightSize);
        var bias = Uniform(rng, o);
        var x = Uniform(rng, batch * g.InputSize);
        var residual = Uniform(rng, batch * g.O * g.OutPlane);
        float[] Run(long minBytes)
        {
            long saved = HugePageWeights.MinBytes;
            HugePageWeights.MinBytes = minBytes;
            try
            {
                var conv = new PackedConv(g, w, bias, SimdLevel.Vector512, ConvLayout.Indirect);
                var y = new float[batch * g.O * g.OutPlane];
                conv.Forward(batch, x, y, residual, relu: true, threads: 2);
                return y;
            }
            finally { HugePageWeights.MinBytes = saved; }
        }
        var managed = Run(long.MaxValue);
        var huge = Run(0);
        Assert.True(managed.AsSpan().SequenceEqual(huge), "the huge-page copy must compute the same bits");
        Assert.Contains(managed, v => v > 0); // not a vacuous all-zero comparison
    }
}

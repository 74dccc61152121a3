using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

public class QuantKernelTests
{
    /// <summary>Values with exact .5 ties at scale 0.25, huge values, infinities and NaN, at lengths that exercise every vector tail.</summary>
    private static float[] Tricky(Rng rng, int len)
    {
        var x = new float[len];
        for (int i = 0; i < len; i++)
        {
            x[i] = (i % 7) switch
            {
                0 => (rng.NextInt(600) - 300) * 0.125f, // multiples of scale/2 -> ties
                1 => float.NaN,
                2 => (i % 2 == 0 ? 1 : -1) * 1e30f,
                3 => i % 2 == 0 ? float.PositiveInfinity : float.NegativeInfinity,
                _ => (float)(rng.NextDouble() * 80 - 40),
            };
        }
        return x;
    }

    [Fact]
    public void Quantize_matches_reference_bit_for_bit()
    {
        var rng = new Rng(21);
        foreach (int len in new[] { 0, 1, 7, 8, 31, 32, 33, 100 })
        {
            var x = Tricky(rng, len);
            foreach (var (scale, zp) in new[] { (0.25f, 0), (0.25f, -7), (0.3f, 100) })
            {
                var expected = new int[len];
                QuantReference.Quantize(x, scale, zp, -128, 127, expected);
                var q = new sbyte[len];
                QuantKernels.QuantizeInt8(x, scale, zp, q);
                Assert.Equal(expected, q.Select(v => (int)v).ToArray());
            }
            foreach (var (scale, zp) in new[] { (0.25f, 0), (0.25f, 128), (0.7f, 255) })
            {
                var expected = new int[len];
                QuantReference.Quantize(x, scale, zp, 0, 255, expected);
                var q = new byte[len];
                QuantKernels.QuantizeUInt8(x, scale, zp, q);
                Assert.Equal(expected, q.Select(v => (int)v).ToArray());
            }
        }
    }

    [Fact]
    public void Rounding_is_half_to_even_and_saturates()
    {
        float[] x = [0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, 127.5f, -128.5f, 1e9f, -1e9f, float.NaN, 0.49999997f, 3.5f, -3.5f, 2.4999998f];
        int[] expected = [0, 2, 2, 0, -2, -2, 126, 127, -128, 127, -128, 0, 0, 4, -4, 2];
        var padded = new float[40];
        x.CopyTo(padded, 0);
        var q = new sbyte[40];
        QuantKernels.QuantizeInt8(padded, 1f, 0, q);
        Assert.Equal(expected, q.Take(x.Length).Select(v => (int)v).ToArray());
        var u = new byte[40];
        QuantKernels.QuantizeUInt8(padded, 1f, 3, u);
        int[] expectedU = [3, 5, 5, 3, 1, 1, 129, 131, 0, 255, 0, 3, 3, 7, 0, 5];
        Assert.Equal(expectedU, u.Take(x.Length).Select(v => (int)v).ToArray());
    }

    [Fact]
    public void Dequantize_inverts_quantize_within_half_a_step()
    {
        var rng = new Rng(4);
        var x = Tensor.Uniform(rng, -3f, 5f, 101).ToArray();
        var p = QuantParams.Asymmetric(-3f, 5f);
        var q = new byte[x.Length];
        QuantKernels.QuantizeUInt8(x, p.Scale, p.ZeroPoint, q);
        var back = new float[x.Length];
        QuantKernels.DequantizeUInt8(q, p.Scale, p.ZeroPoint, back);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.InRange(back[i], x[i] - 0.5f * p.Scale * 1.0001f - 1e-6f, x[i] + 0.5f * p.Scale * 1.0001f + 1e-6f);
            Assert.Equal(QuantReference.DequantizeValue(q[i], p.Scale, p.ZeroPoint), back[i]);
        }
        var s = QuantParams.Symmetric(5f);
        var qs = new sbyte[x.Length];
        QuantKernels.QuantizeInt8(x, s.Scale, 0, qs);
        QuantKernels.DequantizeInt8(qs, s.Scale, 0, back);
        for (int i = 0; i < x.Length; i++)
            Assert.InRange(back[i], x[i] - 0.5001f * s.Scale, x[i] + 0.5001f * s.Scale);
    }

    [Fact]
    public void Per_channel_equals_per_tensor_on_each_channel()
    {
        var rng = new Rng(6);
        const int outer = 2, channels = 3, inner = 37;
        var x = Tensor.Uniform(rng, -2f, 2f, outer * channels * inner).ToArray();
        float[] scales = [0.01f, 0.02f, 0.05f];
        int[] zps = [0, 5, -9];
        var q = new sbyte[x.Length];
        QuantKernels.QuantizeInt8PerChannel(x, channels, inner, scales, zps, q);
        var u = new byte[x.Length];
        QuantKernels.QuantizeUInt8PerChannel(x, channels, inner, scales, [128, 100, 140], u);
        var dq = new float[x.Length];
        QuantKernels.DequantizeInt8PerChannel(q, channels, inner, scales, zps, dq);
        for (int o = 0; o < outer; o++)
            for (int c = 0; c < channels; c++)
            {
                int off = (o * channels + c) * inner;
                var one = new sbyte[inner];
                QuantKernels.QuantizeInt8(x.AsSpan(off, inner), scales[c], zps[c], one);
                Assert.Equal(one, q.AsSpan(off, inner).ToArray());
                var oneU = new byte[inner];
                QuantKernels.QuantizeUInt8(x.AsSpan(off, inner), scales[c], new[] { 128, 100, 140 }[c], oneU);
                Assert.Equal(oneU, u.AsSpan(off, inner).ToArray());
                for (int t = 0; t < inner; t++) Assert.Equal(QuantReference.DequantizeValue(q[off + t], scales[c], zps[c]), dq[off + t]);
            }
        Assert.Throws<ArgumentException>(() => QuantKernels.QuantizeInt8PerChannel(x, 4, inner, [1f, 1f, 1f, 1f], [], q));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuantKernels.QuantizeInt8(x, 0f, 0, q));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuantKernels.QuantizeUInt8(x, 1f, 256, u));
    }

    [Fact]
    public void QuantParams_represent_zero_exactly_and_cover_the_range()
    {
        var p = QuantParams.Asymmetric(-0.7f, 2.3f);
        Assert.Equal(0f, QuantReference.DequantizeValue(p.ZeroPoint, p.Scale, p.ZeroPoint));
        Assert.InRange(QuantReference.DequantizeValue(0, p.Scale, p.ZeroPoint), -0.7f - p.Scale, -0.7f + p.Scale);
        Assert.InRange(QuantReference.DequantizeValue(255, p.Scale, p.ZeroPoint), 2.3f - p.Scale, 2.3f + p.Scale);
        var pos = QuantParams.Asymmetric(1f, 3f); // range widened to include 0
        Assert.Equal(0, pos.ZeroPoint);
        var s = QuantParams.Symmetric(2.54f);
        Assert.Equal(2.54f / 127, s.Scale);
        Assert.Equal(1f, QuantParams.Symmetric(0f).Scale);
    }

    [Fact]
    public void ShiftToUnsigned_adds_128()
    {
        sbyte[] q = [-128, -1, 0, 1, 127];
        var u = new byte[q.Length];
        QuantKernels.ShiftToUnsigned(q, u);
        Assert.Equal(q.Select(v => (byte)(v + 128)).ToArray(), u);
    }
}

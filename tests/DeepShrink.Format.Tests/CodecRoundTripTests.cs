using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using static DeepShrink.Format.Tests.CodecTestUtil;

namespace DeepShrink.Format.Tests;

public class CodecRoundTripTests
{
    private static readonly float[] Specials =
    [
        0f, -0f, 1f, -1f, float.NaN, BitConverter.Int32BitsToSingle(0x7FC0_1234), BitConverter.Int32BitsToSingle(unchecked((int)0xFF80_0001)),
        float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, 1e-40f, 65504f, 65520f,
    ];

    [Fact]
    public void DenseF32IsBitExactForSpecialValues()
    {
        var rng = new Rng(21);
        var x = Specials.Concat(Enumerable.Range(0, 100).Select(_ => (float)rng.NextGaussian())).ToArray();
        var t = DenseCodec.EncodeF32(x, [x.Length]);
        AssertBitExact(x, t.Decode());
        Assert.Equal(4L * x.Length, t.PayloadBytes);
    }

    [Theory]
    [InlineData(new int[] { 0 })]
    [InlineData(new int[] { 3, 0, 2 })]
    [InlineData(new int[] { })]
    public void EmptyAndScalarShapesRoundTripInEveryCodec(int[] shape)
    {
        int n = ShapeUtil.Numel(shape);
        var x = Enumerable.Range(0, n).Select(i => i % 2 == 0 ? 0f : 0.5f).ToArray();
        var book = new[] { 0.5f, -0.25f };
        var encodings = new List<EncodedTensor>
        {
            DenseCodec.EncodeF32(x, shape), DenseCodec.EncodeF16(x, shape),
            Int8Codec.Encode(new sbyte[n], shape, [1f], [0], null),
            CodebookCodec.EncodeValues(x.Select(v => v == 0 ? 0.5f : v).ToArray(), shape, book),
            SparseF32Codec.Encode(x, shape, 3), SparseCodebookCodec.EncodeValues(x, shape, book, 3, huffman: true),
            BinaryCodec.EncodeSigns(x, shape, [0.5f], null),
        };
        foreach (var t in encodings)
        {
            var y = t.Decode();
            Assert.Equal(n, y.Length);
            var s = t.ComputeStats();
            Assert.Equal(n, s.Elements);
        }
        AssertBitExact(x, encodings[0].Decode());
        AssertBitExact(x, encodings[4].Decode());
        AssertBitExact(x, encodings[5].Decode());
    }

    [Fact]
    public void DenseF16RoundsToNearestEvenAndDecodesExactly()
    {
        float oneUlp = MathF.Pow(2, -10);
        float[] x =
        [
            1f + oneUlp / 2,          // tie between 1 and 1+ulp: even is 1
            1f + 3 * oneUlp / 2,      // tie between 1+ulp and 1+2ulp: even is 1+2ulp
            1f + oneUlp * 0.51f,      // above the tie: up
            65520f, 1e6f, -1e6f,      // overflow to infinity
            -0f, 0f, float.PositiveInfinity, 6.1035156e-05f, 5.9604645e-08f, 1e-9f,
        ];
        float[] expected = [1f, 1f + 2 * oneUlp, 1f + oneUlp, float.PositiveInfinity, float.PositiveInfinity, float.NegativeInfinity,
            -0f, 0f, float.PositiveInfinity, 6.1035156e-05f, 5.9604645e-08f, 0f];
        var t = DenseCodec.EncodeF16(x, [x.Length]);
        AssertBitExact(expected, t.Decode());
        Assert.True(float.IsNaN(DenseCodec.EncodeF16([float.NaN], [1]).Decode()[0]));

        // Random values: decode equals the .NET Half conversion; values already in half precision round trip.
        var rng = new Rng(22);
        var r = Enumerable.Range(0, 2000).Select(_ => (float)(rng.NextGaussian() * 100)).ToArray();
        AssertBitExact(r.Select(v => (float)(Half)v).ToArray(), DenseCodec.EncodeF16(r, [40, 50]).Decode());
        var halves = r.Select(v => (float)(Half)v).ToArray();
        AssertBitExact(halves, DenseCodec.EncodeF16(halves, [2000]).Decode());
    }

    [Theory]
    [InlineData(null)]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Int8DecodesScaleTimesOffsetPerChannel(int? axis)
    {
        int[] shape = [3, 4, 5];
        var rng = new Rng(23);
        var q = Enumerable.Range(0, 60).Select(_ => (sbyte)(rng.NextInt(256) - 128)).ToArray();
        int channels = axis is int a ? shape[a] : 1;
        var scales = Enumerable.Range(0, channels).Select(_ => (float)(rng.NextDouble() * 0.1)).ToArray();
        var zps = Enumerable.Range(0, channels).Select(_ => (sbyte)(rng.NextInt(21) - 10)).ToArray();
        var t = Int8Codec.Encode(q, shape, scales, zps, axis);
        var y = t.Decode();
        for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) for (int k = 0; k < 5; k++)
        {
            int c = axis switch { 0 => i, 1 => j, 2 => k, _ => 0 };
            int flat = (i * 4 + j) * 5 + k;
            Assert.Equal(BitConverter.SingleToInt32Bits(scales[c] * (float)(q[flat] - zps[c])), BitConverter.SingleToInt32Bits(y[flat]));
        }
        var open = Int8Codec.Open(t);
        Assert.Equal(q, open.Q.ToArray());
        Assert.Equal(axis, open.Axis);
        Assert.Equal(60 + 5L * channels, t.PayloadBytes);
        Assert.Throws<ArgumentException>(() => Int8Codec.Encode(q, shape, new float[channels + 1], zps, axis));
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, true)]
    [InlineData(32, false)]
    [InlineData(32, true)]
    [InlineData(256, true)]
    [InlineData(300, false)]
    public void CodebookRoundTrips(int k, bool huffman)
    {
        var rng = new Rng((ulong)(1000 + k));
        var centroids = Enumerable.Range(0, k).Select(_ => (float)rng.NextGaussian()).ToArray();
        var idx = Enumerable.Range(0, 777).Select(_ => Math.Min(k - 1, (int)(-Math.Log(1 - rng.NextDouble()) * k / 4))).ToArray();
        var t = CodebookCodec.Encode(idx, [7, 111], centroids, huffman);
        AssertBitExact(idx.Select(i => centroids[i]).ToArray(), t.Decode());
        var open = CodebookCodec.Open(t);
        Assert.Equal(idx, open.Indices.ToArray().Select(i => (int)i).ToArray());
        int bits = Math.Max(1, (int)Math.Ceiling(Math.Log2(k)));
        Assert.Equal(bits, open.Bits);
        var stats = t.ComputeStats();
        Assert.Equal(777L * bits, stats.ValueBitsPlain);
        Assert.Equal(32L * k, stats.SideBits);
        if (huffman) Assert.Equal(8L * t.Parts["indices"].Length, stats.ValueBitsCoded);
        // The same tensor given as values encodes identically.
        var byValues = CodebookCodec.EncodeValues(t.Decode(), [7, 111], centroids, huffman);
        Assert.Equal(t.Parts["indices"].ToArray(), byValues.Parts["indices"].ToArray());
    }

    [Fact]
    public void CodebookRejectsUnquantisedValuesAndBadIndices()
    {
        Assert.Throws<ArgumentException>(() => CodebookCodec.EncodeValues([0.5f, 0.25f], [2], [0.5f]));
        Assert.Throws<ArgumentOutOfRangeException>(() => CodebookCodec.Encode([0, 2], [2], [0.5f, 1f]));
        Assert.Throws<ArgumentException>(() => CodebookCodec.Encode([0, 1], [3], [0.5f, 1f]));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(0)]
    [InlineData(1)]
    public void BinaryRoundTripsBinarisedTensors(int? axis)
    {
        int[] shape = [4, 6];
        var rng = new Rng(31);
        var alphas = new[] { 0.5f, 1e-3f, 0f, float.PositiveInfinity, 2f, 3f };
        var x = new float[24];
        for (int i = 0; i < 4; i++) for (int j = 0; j < 6; j++)
        {
            float a = axis switch { 0 => alphas[i], 1 => alphas[j], _ => 0.75f };
            x[i * 6 + j] = rng.NextInt(2) == 0 ? a : -a;
        }
        var t = BinaryCodec.Encode(x, shape, axis);
        AssertBitExact(x, t.Decode());
        Assert.Equal(3 + 4 * (axis is int ax ? shape[ax] : 1), (int)t.PayloadBytes);
        var open = BinaryCodec.Open(t);
        for (int i = 0; i < 24; i++) Assert.Equal(BitConverter.SingleToInt32Bits(x[i]) >= 0, open.IsPositive(i));
        Assert.Equal(24, t.ComputeStats().ValueBitsPlain);
    }

    [Fact]
    public void BinarySignsFollowBinaryConnectConvention()
    {
        float[] src = [-2f, 0f, -0f, 3f, float.NaN, -1e-30f, 1e-30f, -5f, 7f];
        var t = BinaryCodec.EncodeSigns(src, [9], [0.25f], null);
        float[] expected = [-0.25f, 0.25f, 0.25f, 0.25f, 0.25f, -0.25f, 0.25f, -0.25f, 0.25f];
        AssertBitExact(expected, t.Decode());
        Assert.Throws<ArgumentException>(() => BinaryCodec.Encode([1f, -1f, 0.5f], [3], null));
        Assert.Throws<ArgumentOutOfRangeException>(() => BinaryCodec.Encode([1f], [1], 1));
    }

    [Theory]
    [InlineData(5, 3, 37, false)]
    [InlineData(1, 1, 1, false)]
    [InlineData(16, 4, 64, true)]
    [InlineData(3, 0, 9, false)]
    public void LowRankMatchesDefiningTripleLoop(int m, int r, int n, bool half)
    {
        var rng = new Rng((ulong)(m * 1000 + r * 10 + n));
        var u = Enumerable.Range(0, m * r).Select(_ => (float)rng.NextGaussian()).ToArray();
        var v = Enumerable.Range(0, r * n).Select(_ => (float)rng.NextGaussian()).ToArray();
        var t = LowRankCodec.Encode(u, v, [m, n], r, half);
        if (half) { u = u.Select(x => (float)(Half)x).ToArray(); v = v.Select(x => (float)(Half)x).ToArray(); }
        var expected = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float acc = 0f;
                for (int k = 0; k < r; k++) acc += u[i * r + k] * v[k * n + j];
                expected[i * n + j] = acc;
            }
        AssertBitExact(expected, t.Decode());
        var open = LowRankCodec.Open(t);
        AssertBitExact(u, open.U);
        Assert.Equal((m + n) * r * (half ? 2 : 4), (int)t.PayloadBytes);
    }

    [Fact]
    public void LowRankOfConvKernelFlattensTrailingDimensions()
    {
        var rng = new Rng(41);
        var u = Enumerable.Range(0, 8 * 2).Select(_ => (float)rng.NextGaussian()).ToArray();
        var v = Enumerable.Range(0, 2 * 27).Select(_ => (float)rng.NextGaussian()).ToArray();
        var t = LowRankCodec.Encode(u, v, [8, 3, 3, 3], 2);
        var w = new float[8 * 27];
        LowRankCodec.Product(u, v, 8, 2, 27, w);
        AssertBitExact(w, t.DecodeTensor().Span);
        Assert.Throws<ArgumentException>(() => LowRankCodec.Encode(u, v, [16], 2));
        Assert.Throws<ArgumentException>(() => LowRankCodec.Encode(u, v, [8, 26], 2));
    }
}

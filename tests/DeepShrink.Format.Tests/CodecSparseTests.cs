using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using static DeepShrink.Format.Tests.CodecTestUtil;

namespace DeepShrink.Format.Tests;

public class CodecSparseTests
{
    private static readonly float[] Book = [-0.5f, 0.25f, 1.5f, -2f, 0.75f];

    /// <summary>Both sparse codecs on the same quantised values, with and without Huffman.</summary>
    private static IEnumerable<EncodedTensor> EncodeAll(float[] x, int[] shape, int gapBits)
    {
        yield return SparseF32Codec.Encode(x, shape, gapBits);
        yield return SparseF32Codec.Encode(x, shape, gapBits, huffman: true);
        yield return SparseCodebookCodec.EncodeValues(x, shape, Book, gapBits);
        yield return SparseCodebookCodec.EncodeValues(x, shape, Book, gapBits, huffman: true);
    }

    private static float[] Quantised(Rng rng, int n, double zeroFraction) =>
        Enumerable.Range(0, n).Select(_ => rng.NextDouble() < zeroFraction ? 0f : Book[rng.NextInt(Book.Length)]).ToArray();

    /// <summary>Expected (entries, fillers) from the gap rule, computed independently of the codec.</summary>
    private static (int Entries, int Fillers) ExpectedEntries(float[] x, int gapBits)
    {
        int maxRun = (1 << gapBits) - 1, entries = 0, fillers = 0, run = 0;
        foreach (float v in x)
        {
            if (BitConverter.SingleToInt32Bits(v) == 0)
            {
                if (++run > maxRun) { fillers++; run = 0; } // a filler occupies this zero
            }
            else { entries++; run = 0; }
        }
        return (entries + fillers, fillers);
    }

    [Theory]
    [InlineData(0.0, 5)]
    [InlineData(0.5, 5)]
    [InlineData(0.9, 5)]
    [InlineData(0.99, 3)]
    [InlineData(1.0, 4)]
    [InlineData(0.95, 1)]
    [InlineData(0.999, 16)]
    public void RandomTensorsRoundTripWithExpectedFillers(double zeroFraction, int gapBits)
    {
        var rng = new Rng((ulong)(zeroFraction * 1000) + (ulong)gapBits);
        var x = Quantised(rng, 3000, zeroFraction);
        var (entries, fillers) = ExpectedEntries(x, gapBits);
        foreach (var t in EncodeAll(x, [30, 100], gapBits))
        {
            AssertBitExact(x, t.Decode());
            var s = t.ComputeStats();
            Assert.Equal(entries, s.StoredEntries);
            Assert.Equal(fillers, s.FillerEntries);
            Assert.Equal(x.Count(v => v != 0), s.Nonzeros);
            Assert.Equal((long)entries * gapBits, s.IndexBitsPlain);
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(8)]
    public void GapsAtTheWidthBoundary(int gapBits)
    {
        int max = (1 << gapBits) - 1;
        foreach (int zeros in new[] { max - 1, max, max + 1, 2 * max + 1, 2 * max + 2, 3 * (max + 1) })
        {
            // 1.5, then `zeros` zeros, then -2, then `zeros` trailing zeros.
            var x = new float[2 + 2 * zeros];
            x[0] = 1.5f;
            x[zeros + 1] = -2f;
            int fillersPerRun = zeros / (max + 1);
            foreach (var t in EncodeAll(x, [x.Length], gapBits))
            {
                AssertBitExact(x, t.Decode());
                var open = t.Codec == SparseF32Codec.CodecName ? SparseF32Codec.Open(t) : SparseCodebookCodec.Open(t);
                Assert.Equal(2 + 2 * fillersPerRun, open.EntryCount);
                Assert.All(open.Gaps.ToArray(), g => Assert.InRange(g, 0, max));
                Assert.Equal(new[] { 0, zeros + 1 }, Enumerable.Range(0, open.EntryCount).Where(e => open.ValueAt(e) != 0).Select(e => open.Positions[e]).ToArray());
            }
        }
    }

    [Fact]
    public void HanFigure2Example()
    {
        // Deep Compression fig. 2 style: 3-bit gaps, a run of 8+ zeros needs a filler.
        var x = new float[16];
        x[1] = 1.5f; x[4] = 0.25f; x[15] = -0.5f; // 10 zeros between positions 4 and 15
        var t = SparseCodebookCodec.EncodeValues(x, [16], Book, gapBits: 3);
        var open = SparseCodebookCodec.Open(t);
        Assert.Equal(new ushort[] { 1, 2, 7, 2 }, open.Gaps.ToArray());
        Assert.Equal(new[] { 1, 4, 12, 15 }, open.Positions.ToArray());
        Assert.Equal(open.FillerIndex, open.Codes[2]);
        Assert.Equal(0f, open.Centroids[open.FillerIndex]);
        Assert.Equal(Book.Length + 1, open.Centroids.Length); // +0.0 was appended
        Assert.Equal(3, CodecParamsBits(t));
    }

    private static int CodecParamsBits(EncodedTensor t) => t.Params.GetProperty("bits").GetInt32();

    [Fact]
    public void ExistingZeroCentroidIsUsedAsFiller()
    {
        float[] book = [0.5f, 0f, -1f, 2f];
        var x = new float[100];
        x[0] = 0.5f; x[99] = 2f;
        var t = SparseCodebookCodec.EncodeValues(x, [100], book, 4);
        var open = SparseCodebookCodec.Open(t);
        Assert.Equal(1, open.FillerIndex);
        Assert.Equal(4, open.Centroids.Length);
        Assert.Equal(2, CodecParamsBits(t));
        AssertBitExact(x, t.Decode());
        // Indices that point at the zero centroid are treated as pruned.
        var viaIndices = SparseCodebookCodec.Encode(Enumerable.Range(0, 100).Select(i => i == 0 ? 0 : i == 99 ? 3 : 1).ToArray(), [100], book, 4);
        Assert.Equal(t.Parts["gaps"].ToArray(), viaIndices.Parts["gaps"].ToArray());
        Assert.Equal(t.Parts["values"].ToArray(), viaIndices.Parts["values"].ToArray());
    }

    [Fact]
    public void NegativeZeroAndSpecialsAreStoredAsEntries()
    {
        float[] x = [0f, -0f, 0f, float.NaN, 0f, float.NegativeInfinity, 1e-45f, 0f];
        var t = SparseF32Codec.Encode(x, [8], 2);
        AssertBitExact(x, t.Decode());
        var book = new[] { -0f, float.NaN, float.NegativeInfinity, 1e-45f };
        var c = SparseCodebookCodec.EncodeValues(x, [8], book, 2, huffman: true);
        AssertBitExact(x, c.Decode());
    }

    [Fact]
    public void CsrViewMatchesDense()
    {
        var rng = new Rng(51);
        var x = Quantised(rng, 20 * 3 * 3 * 3, 0.93);
        int[] shape = [20, 3, 3, 3];
        var open = SparseCodebookCodec.Open(SparseCodebookCodec.EncodeValues(x, shape, Book, 3, huffman: true));
        Assert.Equal(20, open.Rows);
        Assert.Equal(27, open.Cols);
        var csr = open.ToCsr();
        var rebuilt = new float[x.Length];
        for (int r = 0; r < csr.Rows; r++)
            for (int j = csr.RowPtr[r]; j < csr.RowPtr[r + 1]; j++)
            {
                Assert.True(j == csr.RowPtr[r] || csr.Columns[j] > csr.Columns[j - 1]);
                rebuilt[r * csr.Cols + csr.Columns[j]] = open.Centroids[open.Codes[csr.Entries[j]]];
            }
        AssertBitExact(x, rebuilt);
        Assert.Equal(x.Count(v => v != 0), csr.Columns.Length);
        Assert.Equal(open.EntryCount, open.ToCsr(dropZeros: false).Columns.Length);
    }

    [Fact]
    public void HuffmanShrinksSkewedStreamsAndStatsAgree()
    {
        var rng = new Rng(61);
        // Skewed cluster usage (as after k-means on a bell-shaped weight distribution).
        var book = Enumerable.Range(0, 32).Select(i => (i - 15.5f) / 16f).ToArray();
        var x = Enumerable.Range(0, 300 * 100).Select(_ =>
            rng.NextDouble() < 0.9 ? 0f : book[Math.Clamp((int)(16 + rng.NextGaussian() * 3), 0, 31)]).ToArray();
        var plain = SparseCodebookCodec.EncodeValues(x, [300, 100], book, 5);
        var coded = SparseCodebookCodec.EncodeValues(x, [300, 100], book, 5, huffman: true);
        AssertBitExact(x, coded.Decode());
        var sp = plain.ComputeStats();
        var sc = coded.ComputeStats();
        Assert.True(coded.PayloadBytes < plain.PayloadBytes);
        Assert.Equal(sp.ValueBitsPlain, sc.ValueBitsPlain);
        Assert.Equal(8L * coded.Parts["values"].Length, sc.ValueBitsCoded);
        Assert.Equal(8L * coded.Parts["gaps"].Length, sc.IndexBitsCoded);
        Assert.True(sc.AvgValueBitsCoded < 6);
        Assert.True(sc.CompressionRateCoded > sc.CompressionRatePlain);
        Assert.Equal(30000L * 4, sc.DenseBytes);
        Assert.InRange(sc.KeptFraction, 0.08, 0.12);
    }

    [Fact]
    public void EncoderRejectsBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SparseF32Codec.Encode([1f], [1], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SparseF32Codec.Encode([1f], [1], 17));
        Assert.Throws<ArgumentException>(() => SparseCodebookCodec.EncodeValues([0.3f], [1], Book, 5));
        Assert.Throws<ArgumentException>(() => SparseCodebookCodec.Encode([0], [1], new float[65536].Select((_, i) => (float)(i + 1)).ToArray(), 5));
    }
}

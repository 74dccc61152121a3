using System.Diagnostics;
using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using static DeepShrink.Format.Tests.CodecTestUtil;

namespace DeepShrink.Format.Tests;

/// <summary>Codec-level defects (as a crafted file with valid checksums would carry) must raise DszFormatException.</summary>
public class CodecCorruptionTests
{
    private static EncodedTensor SparseSample(bool huffman)
    {
        var rng = new Rng(71);
        var book = new[] { -1f, -0.5f, 0.5f, 1f, 2f };
        var x = Enumerable.Range(0, 2000).Select(_ => rng.NextDouble() < 0.9 ? 0f : book[rng.NextInt(5)]).ToArray();
        return SparseCodebookCodec.EncodeValues(x, [40, 50], book, 4, huffman);
    }

    public static TheoryData<string, string?, string?, string?, int[]?> Defects => new()
    {
        // codec, params JSON, part to replace, replacement ("drop", "short", "long", "zero"), shape
        { "codebook", """{"bits":2,"k":3,"huffman":false}""", null, null, null },                 // bits does not match k
        { "codebook", """{"bits":4,"k":17,"huffman":false}""", null, null, null },                // k > 2^bits
        { "codebook", """{"bits":3,"k":5,"huffman":false,"extra":1}""", null, null, null },        // unknown key
        { "codebook", """{"bits":3,"k":5}""", null, null, null },                                 // missing key
        { "codebook", """{"bits":3.5,"k":5,"huffman":false}""", null, null, null },               // not an integer
        { "codebook", """{"bits":3,"k":5,"huffman":1}""", null, null, null },                     // not a boolean
        { "codebook", null, "indices", "short", null },
        { "codebook", null, "indices", "long", null },
        { "codebook", null, "centroids", "drop", null },
        { "codebook", null, "centroids", "short", null },
        { "codebook", null, null, null, new[] { 1 << 20, 1 << 10 } },                            // huge shape, tiny part
        { "sparse-codebook", """{"gapBits":4,"entries":1000000,"bits":3,"k":6,"fillerIndex":5,"huffmanGaps":true,"huffmanValues":true}""", null, null, null },
        { "sparse-codebook", """{"gapBits":4,"entries":0,"bits":3,"k":6,"fillerIndex":5,"huffmanGaps":true,"huffmanValues":true}""", null, null, null },
        { "sparse-codebook", """{"gapBits":4,"entries":10,"bits":3,"k":6,"fillerIndex":0,"huffmanGaps":true,"huffmanValues":true}""", null, null, null },
        { "sparse-codebook", """{"gapBits":17,"entries":10,"bits":3,"k":6,"fillerIndex":5,"huffmanGaps":true,"huffmanValues":true}""", null, null, null },
        { "sparse-codebook", null, "gaps", "short", null },
        { "sparse-codebook", null, "gaps", "long", null },
        { "sparse-codebook", null, "values", "short", null },
        { "sparse-codebook", null, "gaps", "zero", null },
        { "sparse-codebook", null, null, null, new[] { 1 << 15, 1 << 15 } },                     // huge shape: trailing zeros not covered
        { "sparse-codebook", null, null, null, new[] { 10, 10 } },                               // entries past the end
    };

    [Theory]
    [MemberData(nameof(Defects))]
    public void DefectsThrowFormatException(string codec, string? paramsJson, string? part, string? change, int[]? shape)
    {
        var good = codec == "codebook"
            ? CodebookCodec.EncodeValues(Enumerable.Range(0, 600).Select(i => (float)(i % 5)).ToArray(), [20, 30], [0f, 1f, 2f, 3f, 4f], huffman: true)
            : SparseSample(huffman: true);
        good.Decode(); // the unmodified tensor is fine
        byte[]? data = null;
        if (part is not null)
        {
            var orig = good.Parts[part].ToArray();
            data = change switch
            {
                "drop" => null,
                "short" => orig[..^1],
                "long" => [.. orig, 0],
                _ => new byte[orig.Length],
            };
        }
        var bad = With(good, paramsJson, part, data, shape);
        Assert.Throws<DszFormatException>(() => bad.Decode());
        Assert.Throws<DszFormatException>(() => bad.ComputeStats());
    }

    [Fact]
    public void OtherCodecDefectsThrowFormatException()
    {
        var i8 = Int8Codec.Encode(new sbyte[12], [3, 4], [1f, 2f, 3f], [0, 0, 0], 0);
        Assert.Throws<DszFormatException>(() => With(i8, """{"axis":2}""").Decode());
        Assert.Throws<DszFormatException>(() => With(i8, """{"axis":1}""").Decode());      // 4 channels, 3 scales
        Assert.Throws<DszFormatException>(() => With(i8, """{"axis":"0"}""").Decode());
        Assert.Throws<DszFormatException>(() => With(i8, part: "zeroPoints", data: new byte[2]).Decode());
        Assert.Throws<DszFormatException>(() => With(i8, shape: []).Decode());

        var bin = BinaryCodec.EncodeSigns(new float[10], [10], [1f], null);
        Assert.Throws<DszFormatException>(() => With(bin, part: "signs", data: [0xFF, 0xFF]).Decode()); // dirty padding bits
        Assert.Throws<DszFormatException>(() => With(bin, part: "signs", data: [0xFF]).Decode());
        Assert.Throws<DszFormatException>(() => With(bin, part: "extra", data: [1]).Decode());

        var lr = LowRankCodec.Encode(new float[6], new float[8], [3, 4], 2);
        Assert.Throws<DszFormatException>(() => With(lr, """{"rank":3,"dtype":"f32"}""").Decode());
        Assert.Throws<DszFormatException>(() => With(lr, """{"rank":2,"dtype":"f64"}""").Decode());
        Assert.Throws<DszFormatException>(() => With(lr, """{"rank":2,"dtype":"f16"}""").Decode());
        Assert.Throws<DszFormatException>(() => With(lr, shape: [12]).Decode());
        // A tiny low-rank tensor whose product would be huge is refused by the element limit.
        var huge = LowRankCodec.Encode(new float[1 << 15], new float[1 << 15], [1 << 15, 1 << 15], 1);
        Assert.Throws<DszFormatException>(() => huge.Decode());

        var dense = DenseCodec.EncodeF32(new float[4], [4]);
        Assert.Throws<DszFormatException>(() => With(dense, shape: [5]).Decode());
        Assert.Throws<DszFormatException>(() => With(dense, codec: "dense-f64").Decode());
        Assert.Throws<DszFormatException>(() => With(dense, """{"x":1}""").Decode());
        Assert.Throws<DszFormatException>(() => With(dense, shape: [-1]));
        Assert.Throws<DszFormatException>(() => DenseCodec.F16.Decode(dense)); // wrong codec object
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RandomByteFlipsInPartsNeverEscapeAsOtherExceptions(bool huffman)
    {
        var good = SparseSample(huffman);
        var expected = good.Decode();
        var rng = new Rng(huffman ? 81ul : 82ul);
        var sw = Stopwatch.StartNew();
        int detected = 0;
        for (int trial = 0; trial < 600; trial++)
        {
            string part = new[] { "gaps", "values", "centroids" }[rng.NextInt(3)];
            var bytes = good.Parts[part].ToArray();
            int flips = 1 + rng.NextInt(3);
            for (int f = 0; f < flips; f++) bytes[rng.NextInt(bytes.Length)] ^= (byte)(1 << rng.NextInt(8));
            var bad = With(good, part: part, data: bytes);
            try
            {
                var y = bad.Decode();
                Assert.Equal(expected.Length, y.Length); // a flip that decodes still gives the right size
            }
            catch (DszFormatException) { detected++; }
        }
        Assert.True(detected > 0);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"600 corrupt decodes took {sw.Elapsed}");
    }
}

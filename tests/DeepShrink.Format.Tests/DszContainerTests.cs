using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using static DeepShrink.Format.Tests.CodecTestUtil;

namespace DeepShrink.Format.Tests;

public class DszContainerTests
{
    /// <summary>A small model exercising every codec; returns the writer and the expected decoded values.</summary>
    internal static (DszWriter Writer, Dictionary<string, float[]> Expected) SampleModel(int scale = 1)
    {
        var rng = new Rng(91);
        var w = new DszWriter();
        var expected = new Dictionary<string, float[]>();
        void Add(string name, EncodedTensor t) { w.Add(name, t); expected[name] = t.Decode(); }

        var book = Enumerable.Range(0, 16).Select(i => (i - 7.5f) / 8).ToArray();
        var fc1 = Enumerable.Range(0, 30 * 20 * scale).Select(_ => rng.NextDouble() < 0.9 ? 0f : book[rng.NextInt(16)]).ToArray();
        Add("fc1.weight", SparseCodebookCodec.EncodeValues(fc1, [30 * scale, 20], book, 5, huffman: true));
        Add("fc1.bias", DenseCodec.EncodeF32([float.NaN, -0f, 1f, float.NegativeInfinity, 0.1f], [5]));
        Add("fc2.weight", SparseF32Codec.Encode(SparseRandom(rng, 200, 0.95), [10, 20], 3));
        Add("fc2.bias", DenseCodec.EncodeF16([0.5f, -1.25f], [2]));
        Add("conv.weight", CodebookCodec.Encode(Enumerable.Range(0, 4 * 3 * 3 * 3).Select(i => i % 4).ToArray(), [4, 3, 3, 3], [0.1f, -0.2f, 0.3f, 0f], huffman: true));
        Add("q.weight", Int8Codec.Encode(Enumerable.Range(0, 24).Select(i => (sbyte)(i * 7 - 80)).ToArray(), [4, 6], [0.1f, 0.2f, 0.3f, 0.4f], [0, 1, -1, 2], 0));
        Add("bin.weight", BinaryCodec.EncodeSigns(SparseRandom(rng, 21, 0), [3, 7], [0.5f, 1f, 2f], 0));
        Add("lr.weight", LowRankCodec.Encode(SparseRandom(rng, 8, 0), SparseRandom(rng, 10, 0), [4, 5], 2));
        Add("empty", DenseCodec.EncodeF32([], [0, 4]));
        w.SetGraph(JsonNode.Parse("""{"model":"lenet-300-100","layers":[{"type":"linear","in":784,"out":300}],"nested":{"x":[1,2.5,null,true]}}"""));
        w.SetMetadata("accuracy", "0.9812").SetMetadata("recipe", "deep-compression").SetMetadata("unicode", "Δ✓");
        return (w, expected);
    }

    [Fact]
    public void RoundTripIsBitExactForEveryCodec()
    {
        var (w, expected) = SampleModel();
        var file = DszFile.Read(w.ToArray());
        Assert.Equal(1, file.Version);
        Assert.Equal(w.TensorNames, file.Tensors.Select(t => t.Name).ToArray());
        var all = file.DecodeAll();
        foreach (var (name, values) in expected)
        {
            AssertBitExact(values, all[name].Span);
            Assert.Equal(file[name].Shape, all[name].Shape);
        }
        Assert.Equal("0.9812", file.Metadata["accuracy"]);
        Assert.Equal("Δ✓", file.Metadata["unicode"]);
        Assert.Equal("lenet-300-100", file.Graph!["model"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"x":[1,2.5,null,true]}"""), file.Graph!["nested"]));
        Assert.Equal("sparse-codebook", file["fc1.weight"].Codec);
        Assert.False(file.TryGetTensor("nope", out _));
        Assert.Throws<KeyNotFoundException>(() => file["nope"]);
    }

    [Fact]
    public void OutputIsDeterministicAndBlobsAreAligned()
    {
        var a = SampleModel().Writer.ToArray();
        var b = SampleModel().Writer.ToArray();
        Assert.Equal(a, b);
        var plain = SampleModel().Writer;
        plain.CompressHeader = false;
        plain.AlignBlobs = true;
        a = plain.ToArray();
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(a.AsSpan(16));
        long dataStart = (32 + (long)headerLen + 63) / 64 * 64;
        using var doc = JsonDocument.Parse(a.AsMemory(32, (int)headerLen));
        long lastEnd = 0;
        foreach (var blob in doc.RootElement.GetProperty("blobs").EnumerateArray())
        {
            long off = blob.GetProperty("offset").GetInt64(), len = blob.GetProperty("length").GetInt64();
            Assert.Equal(0, (dataStart + off) % 64);
            Assert.Equal(DszChecksum.Compute(a.AsSpan((int)(dataStart + off), (int)len)), blob.GetProperty("crc32c").GetUInt32());
            lastEnd = off + len;
        }
        Assert.Equal(dataStart + lastEnd, a.Length);
    }

    [Fact]
    public void CompressedAndPlainHeaders_DecodeIdentically_AndCompressedIsSmaller()
    {
        var (w, _) = SampleModel();
        var packed = w.ToArray();
        w.CompressHeader = false;
        var plain = w.ToArray();
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(packed.AsSpan(12)));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(plain.AsSpan(12)));
        Assert.True(BinaryPrimitives.ReadUInt64LittleEndian(packed.AsSpan(16)) < BinaryPrimitives.ReadUInt64LittleEndian(plain.AsSpan(16)));
        var da = DszFile.Read(packed).DecodeAll();
        var db = DszFile.Read(plain).DecodeAll();
        Assert.Equal(db.Keys, da.Keys);
        foreach (var k in da.Keys) Assert.Equal(db[k].ToArray(), da[k].ToArray());
        Assert.Equal(DszFile.Read(plain).GraphJson, DszFile.Read(packed).GraphJson);
    }

    [Fact]
    public void PackedBlobs_HaveNoPadding_AndDecodeLikeAlignedOnes()
    {
        var (w, expected) = SampleModel();
        var packed = w.ToArray();
        w.AlignBlobs = true;
        var aligned = w.ToArray();
        var fp = DszFile.Read(packed);
        Assert.Equal(32 + (long)BinaryPrimitives.ReadUInt64LittleEndian(packed.AsSpan(16)) + fp.Tensors.Sum(t => t.Encoded.Parts.Values.Sum(p => (long)p.Length)), packed.Length);
        Assert.True(packed.Length < aligned.Length);
        var da = fp.DecodeAll();
        var db = DszFile.Read(aligned).DecodeAll();
        foreach (var (k, v) in expected) { Assert.Equal(v, da[k].ToArray()); Assert.Equal(v, db[k].ToArray()); }
        // The flag decides the layout: an aligned file claiming to be packed is rejected, not misread.
        var lying = (byte[])aligned.Clone();
        lying[12] |= 2;
        BinaryPrimitives.WriteUInt32LittleEndian(lying.AsSpan(24), Crc(lying));
        Assert.Throws<DszFormatException>(() => DszFile.Read(lying));
    }

    private static uint Crc(byte[] file)
    {
        int h = (int)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(16));
        return DszChecksum.Finish(DszChecksum.Append(DszChecksum.Append(DszChecksum.Start, file.AsSpan(0, 24)), file.AsSpan(32, h)));
    }

    [Fact]
    public void WritesAtomicallyToPathAndReadsFromStreams()
    {
        string dir = Directory.CreateTempSubdirectory("dsz-test-").FullName;
        try
        {
            var (w, expected) = SampleModel();
            string path = Path.Combine(dir, "m.dsz");
            File.WriteAllText(path, "old contents");
            w.WriteTo(path);
            Assert.Equal(new[] { "m.dsz" }, Directory.GetFiles(dir).Select(Path.GetFileName).ToArray());
            var fromPath = DszFile.Read(path);
            AssertBitExact(expected["fc1.weight"], fromPath["fc1.weight"].DecodeData());
            using (var fs = File.OpenRead(path)) Assert.Equal(expected.Count, DszFile.Read(fs).Tensors.Count);
            using var nonSeekable = new NonSeekableStream(File.ReadAllBytes(path));
            AssertBitExact(expected["lr.weight"], DszFile.Read(nonSeekable)["lr.weight"].DecodeData());
            // A failing write leaves the old file and no temporary file behind.
            Assert.ThrowsAny<IOException>(() => w.WriteTo(Path.Combine(dir, "missing-subdir", "x.dsz")));
            Assert.Equal(new[] { "m.dsz" }, Directory.GetFiles(dir).Select(Path.GetFileName).ToArray());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void EmptyContainerAndGraphTextRoundTrip()
    {
        var bytes = new DszWriter { AlignBlobs = true }.ToArray();
        Assert.Equal(0, bytes.Length % 64);
        Assert.Empty(DszFile.Read(new DszWriter().ToArray()).Tensors);
        var f = DszFile.Read(bytes);
        Assert.Empty(f.Tensors);
        Assert.Null(f.Graph);
        Assert.Empty(f.DecodeAll());
        var g = DszFile.Read(new DszWriter().SetGraphJson("[1, {\"a\": \"b\"}]").ToArray());
        Assert.Equal("[1, {\"a\": \"b\"}]", g.GraphJson);
        Assert.Throws<ArgumentException>(() => new DszWriter().SetGraphJson("{oops"));
    }

    [Fact]
    public void WriterRejectsDuplicateNames()
    {
        var w = new DszWriter().Add("a", DenseCodec.EncodeF32([1f], [1]));
        Assert.Throws<ArgumentException>(() => w.Add("a", DenseCodec.EncodeF32([1f], [1])));
        Assert.Throws<ArgumentException>(() => w.Add("", DenseCodec.EncodeF32([1f], [1])));
    }

    [Fact]
    public void StatsAreAvailableFromTheFile()
    {
        var (w, _) = SampleModel();
        var f = DszFile.Read(w.ToArray());
        var s = f["fc1.weight"].ComputeStats();
        Assert.Equal(600, s.Elements);
        Assert.Equal(f["fc1.weight"].DecodeData().Count(v => v != 0), s.Nonzeros);
        Assert.Equal(5, s.IndexBitWidth);
        Assert.Equal(f["fc1.weight"].Encoded.PayloadBytes, s.PayloadBytes);
        var lr = f["lr.weight"].ComputeStats();
        Assert.Equal(18, lr.StoredEntries);
        Assert.Equal(20.0 / 18, lr.CompressionRateCoded, 12);
        var all = f.Tensors.Select(t => t.ComputeStats()).ToList();
        var total = DszTensorStats.Total(all);
        Assert.Equal(all.Sum(x => x.Elements), total.Elements);
        Assert.Equal(all.Sum(x => x.PayloadBytes), total.PayloadBytes);
        Assert.Equal(f.Tensors.Sum(t => t.Encoded.PayloadBytes), total.PayloadBytes);
        Assert.Equal(all.Sum(x => x.TotalBitsCoded), total.TotalBitsCoded);
        Assert.Equal((double)total.DenseBytes * 8 / total.TotalBitsCoded, total.CompressionRateCoded, 12);
    }

    [Fact]
    public void ElementLimitIsEnforcedOnDecode()
    {
        var w = new DszWriter().Add("big", LowRankCodec.Encode(new float[100], new float[100], [100, 100], 1));
        var f = DszFile.Read(w.ToArray(), new DszReadOptions(MaxTensorElements: 9999));
        var e = Assert.Throws<DszFormatException>(() => f["big"].Decode());
        Assert.Contains("'big'", e.Message);
        Assert.Equal(10000, DszFile.Read(w.ToArray())["big"].DecodeData().Length);
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    }
}

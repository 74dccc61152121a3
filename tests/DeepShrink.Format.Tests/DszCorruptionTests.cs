using System.Buffers.Binary;
using System.Diagnostics;
using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using static DeepShrink.Format.Tests.CodecTestUtil;

namespace DeepShrink.Format.Tests;

public class DszCorruptionTests
{
    private static (byte[] Bytes, Dictionary<string, float[]> Expected) Sample()
    {
        var (w, expected) = DszContainerTests.SampleModel();
        return (w.ToArray(), expected);
    }

    /// <summary>Reads and decodes everything; any defect must surface as DszFormatException.</summary>
    private static Dictionary<string, Core.Tensor> ReadAll(byte[] bytes) => DszFile.Read(bytes).DecodeAll();

    [Fact]
    public void TruncationAtEveryOffsetThrows()
    {
        var (bytes, _) = Sample();
        var sw = Stopwatch.StartNew();
        for (int cut = 0; cut < bytes.Length; cut++)
        {
            var e = Assert.Throws<DszFormatException>(() => ReadAll(bytes[..cut]));
            Assert.DoesNotContain('\n', e.Message);
        }
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"{bytes.Length} truncations took {sw.Elapsed}");
    }

    [Fact]
    public void RandomByteFlipsAreDetectedOrHarmless()
    {
        var (bytes, expected) = Sample();
        var rng = new Rng(4242);
        var sw = Stopwatch.StartNew();
        int detected = 0, trials = 3000;
        for (int trial = 0; trial < trials; trial++)
        {
            var copy = (byte[])bytes.Clone();
            int flips = 1 + rng.NextInt(4);
            for (int f = 0; f < flips; f++)
            {
                int at = rng.NextInt(copy.Length);
                copy[at] = trial % 2 == 0 ? (byte)(copy[at] ^ (1 << rng.NextInt(8))) : (byte)rng.NextInt(256);
            }
            try
            {
                var all = ReadAll(copy);
                // Accepted: the flip must not have changed any decoded value.
                foreach (var (name, values) in expected) AssertBitExact(values, all[name].Span);
            }
            catch (DszFormatException) { detected++; }
        }
        Assert.True(detected > trials * 9 / 10, $"only {detected} of {trials} corruptions detected");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"{trials} corrupt reads took {sw.Elapsed}");
    }

    [Fact]
    public void AppendedBytesAreRejected()
    {
        var (bytes, _) = Sample();
        Assert.Throws<DszFormatException>(() => DszFile.Read(bytes.Append((byte)0).ToArray()));
    }

    [Fact]
    public void PreambleDefectsGiveSpecificMessages()
    {
        var (bytes, _) = Sample();
        byte[] Patched(int offset, Action<Span<byte>> patch) { var c = (byte[])bytes.Clone(); patch(c.AsSpan(offset)); return c; }

        Assert.Contains("magic", Assert.Throws<DszFormatException>(() => DszFile.Read(Patched(1, s => s[0] = (byte)'X'))).Message);
        Assert.Contains("version 2", Assert.Throws<DszFormatException>(() => DszFile.Read(Patched(8, s => BinaryPrimitives.WriteUInt32LittleEndian(s, 2)))).Message);
        Assert.Contains("limit", Assert.Throws<DszFormatException>(() => DszFile.Read(Patched(16, s => BinaryPrimitives.WriteUInt64LittleEndian(s, ulong.MaxValue)))).Message);
        Assert.Contains("truncated", Assert.Throws<DszFormatException>(() => DszFile.Read(Patched(16, s => BinaryPrimitives.WriteUInt64LittleEndian(s, 1 << 20)))).Message);
        Assert.Contains("checksum", Assert.Throws<DszFormatException>(() => DszFile.Read(Patched(40, s => s[0] ^= 1))).Message);
        Assert.Throws<DszFormatException>(() => DszFile.Read(Patched(28, s => s[0] = 1)));
        Assert.Throws<DszFormatException>(() => DszFile.Read(Array.Empty<byte>()));
        Assert.Throws<DszFormatException>(() => DszFile.Read("not a dsz file at all, just some text"u8.ToArray()));
    }

    public static TheoryData<string, string> CraftedHeaders => new()
    {
        { "{", "JSON" },
        { "[]", "object" },
        { """{"graph":null,"metadata":{},"tensors":[],"blobs":[],"extra":1}""", "unknown key" },
        { """{"graph":null,"metadata":{"a":1},"tensors":[],"blobs":[]}""", "not a string" },
        { """{"graph":null,"metadata":{},"tensors":{},"blobs":[]}""", "array" },
        { """{"graph":null,"metadata":{},"tensors":[],"blobs":[{"offset":0,"length":4,"crc32c":0}]}""", "truncated" },
        { """{"graph":null,"metadata":{},"tensors":[{"name":"t","shape":[1],"codec":"dense-f32","params":{},"parts":{"data":3}}],"blobs":[]}""", "missing blob" },
        { """{"graph":null,"metadata":{},"tensors":[{"name":"t","shape":[1],"codec":"zip","params":{},"parts":{}}],"blobs":[]}""", "unknown codec" },
        { """{"graph":null,"metadata":{},"tensors":[{"name":"t","shape":[-1],"codec":"dense-f32","params":{},"parts":{}}],"blobs":[]}""", "dimension" },
        { """{"graph":null,"metadata":{},"tensors":[{"name":"t","shape":[65536,65536],"codec":"dense-f32","params":{},"parts":{}}],"blobs":[]}""", "2^31" },
        { """{"graph":null,"metadata":{},"tensors":[{"name":"t","shape":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"codec":"dense-f32","params":{},"parts":{}}],"blobs":[]}""", "rank" },
        { """{"graph":null,"metadata":{},"tensors":[{"name":"t","shape":[],"codec":"dense-f32","params":{},"parts":{}},{"name":"t","shape":[],"codec":"dense-f32","params":{},"parts":{}}],"blobs":[]}""", "duplicate" },
        { """{"graph":null,"metadata":{},"tensors":[{"name":"t","shape":[],"codec":"dense-f32","params":[],"parts":{}}],"blobs":[]}""", "object" },
        { """{"graph":null,"graph":1,"metadata":{},"tensors":[],"blobs":[]}""", "twice" },
        { new string('[', 100) + new string(']', 100), "JSON" },
    };

    [Theory]
    [MemberData(nameof(CraftedHeaders))]
    public void CraftedHeadersWithValidChecksumsAreRejected(string header, string messagePart)
    {
        var e = Assert.Throws<DszFormatException>(() => DszFile.Read(CraftFile(header, [])));
        Assert.Contains(messagePart, e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void CraftedBlobTablesAreRejected()
    {
        byte[] blob = [1, 2, 3, 4];
        string Header(long offset, long length, long crc) =>
            "{\"graph\":null,\"metadata\":{},\"tensors\":[{\"name\":\"t\",\"shape\":[1],\"codec\":\"dense-f32\",\"params\":{},\"parts\":{\"data\":0}}]," +
            $"\"blobs\":[{{\"offset\":{offset},\"length\":{length},\"crc32c\":{crc}}}]}}";
        uint crc = DszChecksum.Compute(blob);
        Assert.Single(DszFile.Read(CraftFile(Header(0, 4, crc), blob)).Tensors); // the baseline is valid
        Assert.Contains("checksum", Assert.Throws<DszFormatException>(() => DszFile.Read(CraftFile(Header(0, 4, crc ^ 1), blob))).Message);
        Assert.Contains("offset", Assert.Throws<DszFormatException>(() => DszFile.Read(CraftFile(Header(64, 4, crc), [.. new byte[64], .. blob]))).Message);
        Assert.Throws<DszFormatException>(() => DszFile.Read(CraftFile(Header(0, long.MaxValue, crc), blob)));
        Assert.Throws<DszFormatException>(() => DszFile.Read(CraftFile(Header(0, 4, 1L << 40), blob)));
        Assert.Throws<DszFormatException>(() => DszFile.Read(CraftFile(Header(0, 3, DszChecksum.Compute(blob.AsSpan(0, 3))), blob))); // trailing byte
        // An unreferenced blob and a blob used twice.
        string two = "{\"graph\":null,\"metadata\":{},\"tensors\":[{\"name\":\"t\",\"shape\":[1],\"codec\":\"dense-f32\",\"params\":{},\"parts\":{\"data\":0}}]," +
            $"\"blobs\":[{{\"offset\":0,\"length\":4,\"crc32c\":{crc}}},{{\"offset\":64,\"length\":4,\"crc32c\":{crc}}}]}}";
        Assert.Contains("not used", Assert.Throws<DszFormatException>(() => DszFile.Read(CraftFile(two, [.. blob, .. new byte[60], .. blob]))).Message);
        string twice = two.Replace("{\"data\":0}", "{\"data\":0,\"x\":0}");
        Assert.Contains("twice", Assert.Throws<DszFormatException>(() => DszFile.Read(CraftFile(twice, [.. blob, .. new byte[60], .. blob]))).Message);
        // Non-zero padding between blobs.
        var padded = new byte[68]; blob.CopyTo(padded, 0); blob.CopyTo(padded, 64); padded[10] = 9;
        Assert.Contains("padding", Assert.Throws<DszFormatException>(() => DszFile.Read(CraftFile(two, padded))).Message);
    }

    [Fact]
    public void HugeClaimedSizesFailFastWithoutAllocating()
    {
        var sw = Stopwatch.StartNew();
        long before = GC.GetAllocatedBytesForCurrentThread();
        // Sparse tensor claiming 2^30 elements with a handful of entries (valid checksums).
        var small = SparseF32Codec.Encode([1f, 0f, 2f], [3], 4);
        string header = "{\"graph\":null,\"metadata\":{},\"tensors\":[{\"name\":\"t\",\"shape\":[32768,32768],\"codec\":\"sparse-f32\",\"params\":" +
            small.Params.GetRawText() + ",\"parts\":{\"gaps\":0,\"values\":1}}],\"blobs\":[" +
            $"{{\"offset\":0,\"length\":{small.Parts["gaps"].Length},\"crc32c\":{DszChecksum.Compute(small.Parts["gaps"].Span)}}}," +
            $"{{\"offset\":64,\"length\":{small.Parts["values"].Length},\"crc32c\":{DszChecksum.Compute(small.Parts["values"].Span)}}}]}}";
        var data = new byte[64 + small.Parts["values"].Length];
        small.Parts["gaps"].Span.CopyTo(data);
        small.Parts["values"].Span.CopyTo(data.AsSpan(64));
        var file = DszFile.Read(CraftFile(header, data));
        Assert.Throws<DszFormatException>(() => file["t"].Decode());
        var relaxed = DszFile.Read(CraftFile(header, data), new DszReadOptions(long.MaxValue));
        Assert.Contains("trailing zeros", Assert.Throws<DszFormatException>(() => relaxed["t"].Decode()).Message);
        Assert.Throws<DszFormatException>(() => relaxed["t"].ComputeStats());
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64L << 20, "a crafted header caused a large allocation");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void CorruptHuffmanStreamWithValidChecksumIsRejected()
    {
        var good = SparseCodebookCodec.EncodeValues([0f, 1f, 0f, 0f, -1f, 1f, 1f, 0f], [8], [1f, -1f], 2, huffman: true);
        var values = good.Parts["values"].ToArray();
        foreach (var bad in new[] { values[..^1], [.. values, 0], new byte[values.Length] })
        {
            var t = With(good, part: "values", data: bad);
            var w = new DszWriter().Add("t", t);
            var f = DszFile.Read(w.ToArray()); // container is fine: checksums match the (bad) bytes
            Assert.Throws<DszFormatException>(() => f["t"].Decode());
        }
    }
}

using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using DeepShrink.Format.Codecs;
using static DeepShrink.Format.Tests.CodecTestUtil;

namespace DeepShrink.Format.Tests;

/// <summary>Issue 17: hostile header text, deflate bombs and nested error contexts.</summary>
public class ReaderHardeningTests
{
    private const string Empty = """{"graph":null,"metadata":{},"tensors":[],"blobs":[]}""";

    public static TheoryData<byte[]> UndecodableHeaders => new()
    {
        Encoding.UTF8.GetBytes(Empty.Replace("\"metadata\":{}", "\"metadata\":{\"a\":\"\\ud800\"}")),   // lone high surrogate value
        Encoding.UTF8.GetBytes(Empty.Replace("\"metadata\":{}", "\"metadata\":{\"\\udc00\":\"x\"}")),   // lone low surrogate name
        Encoding.UTF8.GetBytes(Empty.Replace("\"graph\":null", "\"graph\":{\"k\":\"\\ud800\\u0041\"}")), // surrogate + non-surrogate
        Join(Encoding.UTF8.GetBytes(Empty[..^1] + ",\"x\":\""), [0xC3, 0x28], "\"}"u8.ToArray()),             // invalid UTF-8 in a string
        Join("{\""u8.ToArray(), [0xFF], Encoding.UTF8.GetBytes("graph\":null}")),                          // invalid UTF-8 in a key
    };

    [Theory]
    [MemberData(nameof(UndecodableHeaders))]
    public void DszHeaderTextThatDoesNotDecodeIsAFormatError(byte[] header)
    {
        var e = Assert.Throws<DszFormatException>(() => DszFile.Read(CraftFile(header, [])));
        Assert.StartsWith("header ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [MemberData(nameof(UndecodableHeaders))]
    public void SafetensorsHeaderTextThatDoesNotDecodeIsAFormatError(byte[] header)
    {
        var file = new byte[8 + header.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsReader.Parse(file, "bad.safetensors"));
        Assert.Contains("header", e.Message);
    }

    [Fact]
    public void DeflatedHeaderMayNotInflateFarBeyondTheFileSize()
    {
        // 8 MiB of spaces deflate to about 8 KiB: a valid header padded into a bomb.
        var text = Encoding.UTF8.GetBytes(Empty + new string(' ', 8 << 20));
        using var ms = new MemoryStream();
        using (var z = new DeflateStream(ms, CompressionLevel.SmallestSize, leaveOpen: true)) z.Write(text);
        byte[] file = CraftFile(ms.ToArray(), [], flags: 1);
        Assert.True(file.Length < 64 << 10, $"bomb is {file.Length} bytes");
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<DszFormatException>(() => DszFile.Read(file));
        Assert.Contains("inflated header exceeds", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 8L << 20, "the bomb was inflated before it was refused");
        // The same header inflating to under 64 x the file size is fine.
        using var small = new MemoryStream();
        using (var z = new DeflateStream(small, CompressionLevel.SmallestSize, leaveOpen: true)) z.Write(Encoding.UTF8.GetBytes(Empty + new string(' ', 1000)));
        Assert.Empty(DszFile.Read(CraftFile(small.ToArray(), [], flags: 1)).Tensors);
    }

    [Fact]
    public void NestedContextsDoNotRepeatTheirPrefix()
    {
        var inner = new DszFormatException("codec 'int8': bad");
        var once = inner.WithContext("tensor 'fc1.weight'");
        Assert.Equal("tensor 'fc1.weight': codec 'int8': bad", once.Message);
        Assert.Same(once, once.WithContext("tensor 'fc1.weight'"));
        Assert.Equal("tensor 'fc2.weight': tensor 'fc1.weight': codec 'int8': bad", once.WithContext("tensor 'fc2.weight'").Message);
    }

    [Fact]
    public void DecodeErrorNamesTheTensorOnce()
    {
        var good = SparseCodebookCodec.EncodeValues([0f, 1f, 0f, 0f, -1f, 1f, 1f, 0f], [8], [1f, -1f], 2, huffman: true);
        var bad = With(good, part: "values", data: new byte[good.Parts["values"].Length]);
        var f = DszFile.Read(new DszWriter().Add("w", bad).ToArray());
        var e = Assert.Throws<DszFormatException>(() => f["w"].Decode());
        Assert.StartsWith("tensor 'w': ", e.Message);
        Assert.DoesNotContain("tensor 'w': tensor 'w'", e.Message);
    }

    [Fact]
    public void AtomicWriteRemovesTemporaryFilesOfKilledWritersOnly()
    {
        string dir = Directory.CreateTempSubdirectory("dsatomic-").FullName;
        try
        {
            string target = Path.Combine(dir, "m.dsz");
            string orphan = Path.Combine(dir, ".m.dsz.2147483000.0123456789ab.tmp");   // no such process
            string live = Path.Combine(dir, $".m.dsz.{Environment.ProcessId}.0123456789ab.tmp"); // a writer still running
            string other = Path.Combine(dir, ".n.dsz.2147483000.0123456789ab.tmp");    // another destination
            foreach (var f in new[] { orphan, live, other }) File.WriteAllBytes(f, [1]);
            AtomicFile.WriteAllBytes(target, [1, 2, 3]);
            Assert.Equal([1, 2, 3], File.ReadAllBytes(target));
            Assert.False(File.Exists(orphan));
            Assert.True(File.Exists(live));
            Assert.True(File.Exists(other));
            Assert.Equal(3, Directory.GetFiles(dir).Length); // target, live, other
        }
        finally { Directory.Delete(dir, true); }
    }

    private static byte[] Join(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}

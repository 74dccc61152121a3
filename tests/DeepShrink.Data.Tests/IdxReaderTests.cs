using System.IO.Compression;
using DeepShrink.Core;

namespace DeepShrink.Data.Tests;

public class IdxReaderTests
{
    private static byte[] Gzip(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) z.Write(raw);
        return ms.ToArray();
    }

    private static byte[] RandomBytes(int n, ulong seed)
    {
        var rng = new Rng(seed);
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)rng.NextInt(256);
        return b;
    }

    private static DatasetException Fails(string path)
    {
        var ex = Assert.Throws<DatasetException>(() => IdxReader.Read(path));
        Assert.StartsWith(path + ": ", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        return ex;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WriteThenRead_RoundTripsImagesAndLabels(bool gzip)
    {
        using var dir = new TempDir();
        var pixels = RandomBytes(5 * 7 * 3, 1);
        var labels = RandomBytes(5, 2);
        IdxWriter.WriteFile(dir.File("img"), pixels, new[] { 5, 7, 3 }, gzip);
        IdxWriter.WriteFile(dir.File("lab"), labels, new[] { 5 }, gzip);
        var img = IdxReader.ReadImages(dir.File("img"));
        Assert.Equal(new[] { 5, 7, 3 }, img.Dimensions);
        Assert.Equal(pixels, img.Data);
        Assert.Equal(labels, IdxReader.ReadLabels(dir.File("lab")));
    }

    [Fact]
    public void HeaderBytes_FollowTheIdxSpecification()
    {
        var raw = IdxWriter.Encode(new byte[] { 9, 8, 7, 6, 5, 4 }, new[] { 1, 2, 3 });
        Assert.Equal(new byte[] { 0, 0, 0x08, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 9, 8, 7, 6, 5, 4 }, raw);
    }

    [Fact]
    public void Compression_IsDetectedByMagicBytes_NotByName()
    {
        using var dir = new TempDir();
        var raw = IdxWriter.Encode(new byte[] { 1, 2, 3 }, new[] { 3 });
        File.WriteAllBytes(dir.File("gz-without-suffix"), Gzip(raw));
        File.WriteAllBytes(dir.File("raw-with-suffix.gz"), raw);
        Assert.Equal(new byte[] { 1, 2, 3 }, IdxReader.ReadLabels(dir.File("gz-without-suffix")));
        Assert.Equal(new byte[] { 1, 2, 3 }, IdxReader.ReadLabels(dir.File("raw-with-suffix.gz")));
    }

    public static TheoryData<string, byte[]> Malformed => new()
    {
        { "too short", new byte[] { 0, 0, 8 } },
        { "bad magic number 0x01020801", new byte[] { 1, 2, 8, 1, 0, 0, 0, 0 } },
        { "data type 0x0D (float32) is not supported", new byte[] { 0, 0, 0x0D, 1, 0, 0, 0, 0 } },
        { "zero dimensions", new byte[] { 0, 0, 8, 0 } },
        { "truncated header", new byte[] { 0, 0, 8, 3, 0, 0, 0, 1, 0, 0 } },
        { "truncated: header declares 2x2 = 4 data bytes but only 3", new byte[] { 0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3 } },
        { "2 bytes of trailing garbage", new byte[] { 0, 0, 8, 1, 0, 0, 0, 1, 7, 8, 9 } },
        { "invalid size 4294967295", new byte[] { 0, 0, 8, 1, 255, 255, 255, 255 } },
        { "more bytes than fit in memory", new byte[] { 0, 0, 8, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0 } },
    };

    [Theory, MemberData(nameof(Malformed))]
    public void MalformedRawFile_ThrowsOneLineDatasetException(string expected, byte[] content)
    {
        using var dir = new TempDir();
        string path = dir.File("bad-idx1-ubyte");
        File.WriteAllBytes(path, content);
        Assert.Contains(expected, Fails(path).Message);
    }

    [Theory, MemberData(nameof(Malformed))]
    public void MalformedGzipFile_ThrowsOneLineDatasetException(string expected, byte[] content)
    {
        using var dir = new TempDir();
        string path = dir.File("bad-idx1-ubyte.gz");
        File.WriteAllBytes(path, Gzip(content));
        var ex = Fails(path);
        // A gzip file cannot be checked against the file size, so a truncated body is found while reading.
        Assert.Contains(expected.StartsWith("truncated: ", StringComparison.Ordinal) ? "truncated" : expected, ex.Message);
    }

    [Fact]
    public void HugeDeclaredSizeInSmallGzip_IsRejectedBeforeReading()
    {
        using var dir = new TempDir();
        string path = dir.File("huge.gz");
        File.WriteAllBytes(path, Gzip(new byte[] { 0, 0, 8, 3, 0, 0, 0x10, 0, 0, 0, 0x10, 0, 0, 0, 0, 0x10 }));
        Assert.Contains("more than a", Fails(path).Message);
    }

    [Fact]
    public void GzipHeaderClaimingMoreThanItHolds_AllocatesForTheDataPresentOnly()
    {
        // 64 KiB of incompressible data behind a header claiming 512 x 256 x 256 = 32 MiB: within the deflate
        // ratio a 64 KiB gzip file could hold, so only the data that really arrives may be allocated for.
        using var dir = new TempDir();
        string path = dir.File("liar.gz");
        byte[] header = [0, 0, 8, 3, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0];
        File.WriteAllBytes(path, Gzip([.. header, .. RandomBytes(64 << 10, 9)]));
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Contains("truncated", Fails(path).Message);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 8L << 20, $"reading a 64 KiB file that claims 32 MiB allocated {allocated >> 20} MiB");
    }

    [Fact]
    public void MissingFile_AndWrongRank_AreReported()
    {
        using var dir = new TempDir();
        Assert.Contains("file not found", Fails(dir.File("nope")).Message);
        IdxWriter.WriteFile(dir.File("labels"), new byte[] { 1, 2 }, new[] { 2 }, gzip: false);
        IdxWriter.WriteFile(dir.File("images"), new byte[4], new[] { 1, 2, 2 }, gzip: true);
        Assert.Contains("expected images", Assert.Throws<DatasetException>(() => IdxReader.ReadImages(dir.File("labels"))).Message);
        Assert.Contains("expected labels", Assert.Throws<DatasetException>(() => IdxReader.ReadLabels(dir.File("images"))).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Truncation_AtEveryLength_ThrowsDatasetException(bool gzip)
    {
        using var dir = new TempDir();
        var raw = IdxWriter.Encode(RandomBytes(6 * 5 * 5, 3), new[] { 6, 5, 5 });
        var content = gzip ? Gzip(raw) : raw;
        string path = dir.File("t");
        for (int len = 0; len < content.Length; len++)
        {
            File.WriteAllBytes(path, content[..len]);
            Fails(path);
        }
    }

    [Fact]
    public void BytesAppendedAfterGzipStream_AreRejected()
    {
        using var dir = new TempDir();
        var gz = Gzip(IdxWriter.Encode(new byte[] { 1, 2, 3 }, new[] { 3 }));
        string path = dir.File("g.gz");
        File.WriteAllBytes(path, gz.Concat(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }).ToArray());
        Fails(path);
    }

    [Fact]
    public void RandomByteFlips_EitherReadOrThrowDatasetException()
    {
        using var dir = new TempDir();
        var raw = IdxWriter.Encode(RandomBytes(8 * 4 * 4, 5), new[] { 8, 4, 4 });
        var gz = Gzip(raw);
        var rng = new Rng(6);
        string path = dir.File("f");
        int rejected = 0;
        for (int iter = 0; iter < 240; iter++)
        {
            var b = (byte[])(iter % 2 == 0 ? raw : gz).Clone();
            int limit = iter % 4 < 2 ? b.Length : Math.Min(b.Length, 24);
            for (int f = 1 + rng.NextInt(3); f > 0; f--) b[rng.NextInt(limit)] ^= (byte)(1 + rng.NextInt(255));
            File.WriteAllBytes(path, b);
            try { IdxReader.Read(path); }
            catch (DatasetException ex) { Assert.DoesNotContain('\n', ex.Message); rejected++; }
        }
        Assert.True(rejected > 60, $"only {rejected} of 240 corrupted files were rejected");
    }
}

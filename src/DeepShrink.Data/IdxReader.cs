using System.Buffers.Binary;
using System.IO.Compression;

namespace DeepShrink.Data;

/// <summary>
/// Reads IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed.
/// </summary>
/// <remarks>
/// Format (LeCun et al., "The MNIST database"): a 4-byte magic <c>00 00 TT RR</c> where TT is the
/// data type (0x08 = unsigned byte) and RR the number of dimensions, then RR big-endian uint32
/// sizes, then the row-major data. Labels are idx1 (magic 0x00000801), images idx3 (0x00000803).
/// Compression is detected from the gzip magic bytes 1F 8B, not from the file name. Every
/// structural problem (bad magic, unsupported type, truncation, trailing bytes, corrupt gzip)
/// throws <see cref="DatasetException"/> with a one-line message naming the file.
/// </remarks>
public static class IdxReader
{
    /// <summary>The IDX type code of unsigned bytes, the only type this reader accepts.</summary>
    public const byte UnsignedByteType = 0x08;

    /// <summary>Deflate cannot expand data by more than about 1032:1; used to reject absurd headers before allocating.</summary>
    private const long MaxDeflateRatio = 1100;

    /// <summary>Reads an IDX file of any rank.</summary>
    /// <exception cref="DatasetException">The file is missing or malformed.</exception>
    public static IdxArray Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        FileStream fs;
        try { fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16); }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        { throw new DatasetException($"{path}: file not found", ex); }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        { throw new DatasetException($"{path}: cannot open ({ex.Message.ReplaceLineEndings(" ")})", ex); }

        using (fs)
        {
            long fileLength = fs.Length;
            Span<byte> peek = stackalloc byte[2];
            int got = fs.ReadAtLeast(peek, 2, throwOnEndOfStream: false);
            bool gzip = got == 2 && peek[0] == 0x1F && peek[1] == 0x8B;
            fs.Position = 0;
            if (!gzip) return Parse(fs, path, fileLength, compressed: false);
            try
            {
                IdxArray a;
                using (var z = new GZipStream(fs, CompressionMode.Decompress, leaveOpen: true))
                    a = Parse(z, path, fileLength, compressed: true);
                CheckGzipTrailer(fs, path, 4 + 4L * a.Rank + a.Data.Length);
                return a;
            }
            catch (InvalidDataException ex)
            {
                throw new DatasetException($"{path}: corrupt gzip data ({ex.Message.ReplaceLineEndings(" ")})", ex);
            }
        }
    }

    /// <summary>Reads an image file: idx3 [N, H, W] (returned as is) or rank 4 [N, C, H, W].</summary>
    /// <exception cref="DatasetException">The file is missing, malformed or not an image file.</exception>
    public static IdxArray ReadImages(string path)
    {
        var a = Read(path);
        if (a.Rank is not (3 or 4))
            throw new DatasetException($"{path}: expected images (3 dimensions, magic 0x00000803) but the file has {a.Rank} dimension{(a.Rank == 1 ? "" : "s")} (magic 0x{0x0800 | a.Rank:X8})");
        return a;
    }

    /// <summary>Reads a label file (idx1, one byte per label).</summary>
    /// <exception cref="DatasetException">The file is missing, malformed or not a label file.</exception>
    public static byte[] ReadLabels(string path)
    {
        var a = Read(path);
        if (a.Rank != 1)
            throw new DatasetException($"{path}: expected labels (1 dimension, magic 0x00000801) but the file has {a.Rank} dimensions (magic 0x{0x0800 | a.Rank:X8})");
        return a.Data;
    }

    /// <summary>
    /// The decompressor stops silently when the 8-byte gzip trailer (CRC32, ISIZE) is cut off, so a
    /// file truncated inside its trailer, or with bytes appended after it, would go unnoticed; the
    /// ISIZE field (uncompressed size mod 2^32, RFC 1952) must match what was decompressed.
    /// Only single-member gzip files pass this check, which is what gzip and the datasets produce.
    /// </summary>
    private static void CheckGzipTrailer(FileStream fs, string path, long decompressed)
    {
        if (fs.Length < 18) throw new DatasetException($"{path}: truncated gzip file ({fs.Length} bytes)");
        Span<byte> isize = stackalloc byte[4];
        fs.Seek(-4, SeekOrigin.End);
        fs.ReadExactly(isize);
        uint declared = BinaryPrimitives.ReadUInt32LittleEndian(isize);
        if (declared != (uint)decompressed)
            throw new DatasetException($"{path}: gzip trailer declares {declared} uncompressed bytes but {decompressed} were decoded (truncated or corrupt gzip file, or an unsupported multi-member gzip)");
    }

    private static IdxArray Parse(Stream s, string path, long fileLength, bool compressed)
    {
        DatasetException Fail(string problem) => new($"{path}: {problem}");
        string kind = compressed ? "decompressed data" : "file";

        Span<byte> magic = stackalloc byte[4];
        int got = s.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        if (got < 4) throw Fail($"{kind} is {got} bytes long, too short for an IDX header");
        uint m = BinaryPrimitives.ReadUInt32BigEndian(magic);
        if (magic[0] != 0 || magic[1] != 0) throw Fail($"bad magic number 0x{m:X8}: not an IDX file (expected 0x00000801 for labels or 0x00000803 for images)");
        if (magic[2] != UnsignedByteType) throw Fail($"IDX data type 0x{magic[2]:X2} ({TypeName(magic[2])}) is not supported; expected unsigned byte (0x08)");
        int rank = magic[3];
        if (rank == 0) throw Fail("IDX header declares zero dimensions");

        var dimBytes = new byte[4 * rank];
        got = s.ReadAtLeast(dimBytes, dimBytes.Length, throwOnEndOfStream: false);
        if (got < dimBytes.Length) throw Fail($"truncated header: {rank} dimension sizes need {dimBytes.Length} bytes, only {got} present");
        var dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(dimBytes.AsSpan(4 * i));
            if (d > int.MaxValue) throw Fail($"dimension {i} has an invalid size {d}");
            dims[i] = (int)d;
            count *= d;
            if (count > Array.MaxLength) throw Fail($"dimensions [{string.Join(", ", dims.Take(i + 1))}...] declare more bytes than fit in memory");
        }
        string declared = $"{string.Join("x", dims)} = {count} data bytes";

        long headerBytes = 4 + 4L * rank;
        if (!compressed)
        {
            long present = fileLength - headerBytes;
            if (present < count) throw Fail($"truncated: header declares {declared} but only {present} are present");
            if (present > count) throw Fail($"{present - count} bytes of trailing garbage after the {declared} the header declares");
        }
        else if (count > fileLength * MaxDeflateRatio + 4096)
        {
            throw Fail($"header declares {declared}, more than a {fileLength}-byte gzip file can hold (corrupt header or truncated file)");
        }

        var data = compressed ? ReadGrowing(s, count, fileLength) : new byte[count];
        got = compressed ? data.Length : s.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (got < count) throw Fail($"truncated: header declares {declared} but only {got} are present");
        if (compressed)
        {
            long extra = 0;
            Span<byte> sink = stackalloc byte[4096];
            int r;
            while ((r = s.Read(sink)) > 0) extra += r;
            if (extra > 0) throw Fail($"{extra} bytes of trailing garbage after the {declared} the header declares");
        }
        return new IdxArray(dims, data);
    }

    /// <summary>
    /// Reads up to <paramref name="count"/> bytes of a decompressing stream into a buffer that grows
    /// (doubling) only as data arrives, so a header that lies about its size costs at most twice the
    /// data really present, never the claimed size. Returns fewer bytes when the stream ends early.
    /// </summary>
    private static byte[] ReadGrowing(Stream s, long count, long fileLength)
    {
        var buffer = new byte[Math.Min(count, Math.Max(1L << 20, fileLength * 16))];
        int total = 0;
        while (true)
        {
            total += s.ReadAtLeast(buffer.AsSpan(total), buffer.Length - total, throwOnEndOfStream: false);
            if (total < buffer.Length || total == count) break;
            Array.Resize(ref buffer, (int)Math.Min(count, 2L * buffer.Length));
        }
        if (total < buffer.Length) Array.Resize(ref buffer, total);
        return buffer;
    }

    private static string TypeName(byte t) => t switch
    {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => "unknown type",
    };
}

using System.Buffers.Binary;
using System.IO.Compression;

namespace DeepShrink.Data;

/// <summary>
/// Writes IDX files of unsigned bytes (raw or gzip), the inverse of <see cref="IdxReader"/>.
/// Used to build small synthetic datasets for tests and to export data.
/// </summary>
public static class IdxWriter
{
    /// <summary>Writes <paramref name="data"/> with the given dimensions to a stream (uncompressed IDX).</summary>
    public static void Write(Stream stream, ReadOnlySpan<byte> data, ReadOnlySpan<int> dimensions)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long n = IdxArray.ByteCount(dimensions);
        if (n != data.Length) throw new ArgumentException($"dimensions need {n} bytes, data has {data.Length}", nameof(data));
        Span<byte> header = stackalloc byte[4 + 4 * dimensions.Length];
        header[0] = 0; header[1] = 0; header[2] = IdxReader.UnsignedByteType; header[3] = (byte)dimensions.Length;
        for (int i = 0; i < dimensions.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header[(4 + 4 * i)..], dimensions[i]);
        stream.Write(header);
        stream.Write(data);
    }

    /// <summary>The bytes of an uncompressed IDX file.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> data, ReadOnlySpan<int> dimensions)
    {
        var ms = new MemoryStream(data.Length + 4 + 4 * dimensions.Length);
        Write(ms, data, dimensions);
        return ms.ToArray();
    }

    /// <summary>Writes an IDX file, gzip-compressed when <paramref name="gzip"/> is true.</summary>
    public static void WriteFile(string path, ReadOnlySpan<byte> data, ReadOnlySpan<int> dimensions, bool gzip)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
        if (!gzip) { Write(fs, data, dimensions); return; }
        using var z = new GZipStream(fs, CompressionLevel.Fastest);
        Write(z, data, dimensions);
    }
}

using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepShrink.Core;

namespace DeepShrink.Format;

/// <summary>
/// A <c>.dsz</c> compressed model read into memory: header, graph, metadata and lazily decodable
/// tensors. Every structural defect (bad magic, unsupported version, truncation, checksum mismatch,
/// malformed header, blobs out of range) throws <see cref="DszFormatException"/> while reading; codec
/// defects throw it when a tensor is decoded. The byte layout is in docs/FORMAT-dsz.md.
/// </summary>
public sealed class DszFile
{
    private readonly Dictionary<string, DszTensor> _byName;

    private DszFile(int version, long fileBytes, long headerBytes, string? graphJson, IReadOnlyDictionary<string, string> metadata, List<DszTensor> tensors)
    {
        Version = version; FileBytes = fileBytes; HeaderBytes = headerBytes; GraphJson = graphJson;
        Metadata = metadata; Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Format version of the file.</summary>
    public int Version { get; }
    /// <summary>Total file size in bytes.</summary>
    public long FileBytes { get; }
    /// <summary>Size of the JSON header in bytes.</summary>
    public long HeaderBytes { get; }
    /// <summary>The model graph exactly as stored (JSON text), or null.</summary>
    public string? GraphJson { get; }
    /// <summary>The model graph parsed into a new mutable node (null when absent).</summary>
    public JsonNode? Graph => GraphJson is null ? null : JsonNode.Parse(GraphJson);
    /// <summary>Free metadata (accuracy, recipe, ...).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>Tensors in file order.</summary>
    public IReadOnlyList<DszTensor> Tensors { get; }

    /// <summary>The tensor called <paramref name="name"/> (KeyNotFoundException when absent).</summary>
    public DszTensor this[string name] =>
        _byName.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"no tensor '{name}' in the .dsz file");

    /// <summary>Looks a tensor up by name.</summary>
    public bool TryGetTensor(string name, out DszTensor tensor) => _byName.TryGetValue(name, out tensor!);

    /// <summary>Decodes every tensor.</summary>
    public Dictionary<string, Tensor> DecodeAll()
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var t in Tensors) result[t.Name] = t.Decode();
        return result;
    }

    /// <summary>Reads a file.</summary>
    public static DszFile Read(string path, DszReadOptions? options = null)
    {
        long length = new FileInfo(path).Length;
        if (length > Array.MaxLength) throw new DszFormatException($"{path}: {length} bytes is too large for a .dsz file");
        return Read(File.ReadAllBytes(path), options);
    }

    /// <summary>Reads from a stream (to its end).</summary>
    public static DszFile Read(Stream stream, DszReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.CanSeek)
        {
            long remaining = stream.Length - stream.Position;
            if (remaining > Array.MaxLength) throw new DszFormatException($"stream of {remaining} bytes is too large for a .dsz file");
            var bytes = new byte[remaining];
            stream.ReadExactly(bytes);
            return Read(bytes, options);
        }
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        return Read(ms.ToArray(), options);
    }

    /// <summary>Reads from bytes in memory (tensor parts reference <paramref name="data"/> without copying).</summary>
    public static DszFile Read(ReadOnlyMemory<byte> data, DszReadOptions? options = null)
    {
        options ??= DszReadOptions.Default;
        ReadOnlySpan<byte> span = data.Span;
        if (span.Length < DszLayout.PreambleBytes)
            throw new DszFormatException($"truncated .dsz: {span.Length} bytes, the preamble alone needs {DszLayout.PreambleBytes}");
        if (!span[..8].SequenceEqual(DszLayout.Magic)) throw new DszFormatException("not a .dsz file (bad magic)");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(span[8..]);
        if (version != DszLayout.Version) throw new DszFormatException($"unsupported .dsz version {version} (this reader supports {DszLayout.Version})");
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(span[12..]);
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(span[16..]);
        uint headerCrc = BinaryPrimitives.ReadUInt32LittleEndian(span[24..]);
        uint reserved = BinaryPrimitives.ReadUInt32LittleEndian(span[28..]);
        if ((flags & ~(DszLayout.FlagDeflatedHeader | DszLayout.FlagPackedBlobs)) != 0 || reserved != 0) throw new DszFormatException("unsupported .dsz flags or non-zero reserved bytes");
        if (headerLen > (ulong)DszLimits.MaxHeaderBytes) throw new DszFormatException($"header length {headerLen} exceeds the limit {DszLimits.MaxHeaderBytes}");
        long headerEnd = DszLayout.PreambleBytes + (long)headerLen;
        if (headerEnd > span.Length) throw new DszFormatException($"truncated .dsz: header needs {headerEnd} bytes, file has {span.Length}");
        var header = span[DszLayout.PreambleBytes..(int)headerEnd];
        uint crc = DszChecksum.Finish(DszChecksum.Append(DszChecksum.Append(DszChecksum.Start, span[..DszLayout.ChecksummedPreambleBytes]), header));
        if (crc != headerCrc) throw new DszFormatException($"header checksum mismatch (stored 0x{headerCrc:X8}, computed 0x{crc:X8})");
        bool packed = (flags & DszLayout.FlagPackedBlobs) != 0;
        long dataStart = DszLayout.Align(headerEnd, packed);
        if (dataStart > span.Length) throw new DszFormatException($"truncated .dsz: data section starts at {dataStart}, file has {span.Length} bytes");
        CheckZero(span[(int)headerEnd..(int)dataStart], "header padding");

        DszHeader parsed;
        try
        {
            var json = data.Slice(DszLayout.PreambleBytes, (int)headerLen);
            if ((flags & DszLayout.FlagDeflatedHeader) != 0) json = Inflate(json.Span, span.Length);
            if (JsonStrings.Utf8Problem(json.Span) is { } utf8) throw new DszFormatException($"header {utf8}");
            using var doc = JsonDocument.Parse(json);
            if (JsonStrings.StringProblem(doc.RootElement) is { } text) throw new DszFormatException($"header {text}");
            parsed = DszHeader.Parse(doc.RootElement, data[(int)dataStart..], options, packed);
        }
        catch (JsonException e) { throw new DszFormatException($"header is not valid JSON: {OneLine(e.Message)}", e); }
        return new DszFile((int)version, span.Length, (long)headerLen, parsed.GraphJson, parsed.Metadata, parsed.Tensors);
    }

    /// <summary>
    /// Inflates the header, refusing more than <see cref="DszLimits.MaxHeaderBytes"/> and more than
    /// <see cref="DszLimits.MaxHeaderInflation"/> times the file size (a deflate bomb in a small file).
    /// </summary>
    private static byte[] Inflate(ReadOnlySpan<byte> compressed, long fileBytes)
    {
        long limit = Math.Min(DszLimits.MaxHeaderBytes, Math.Max(1L << 16, fileBytes * DszLimits.MaxHeaderInflation));
        try
        {
            using var src = new System.IO.Compression.DeflateStream(new MemoryStream(compressed.ToArray()), System.IO.Compression.CompressionMode.Decompress);
            using var dst = new MemoryStream();
            var buf = new byte[81920];
            int n;
            while ((n = src.Read(buf)) > 0)
            {
                if (dst.Length + n > limit) throw new DszFormatException($"inflated header exceeds the limit of {limit} bytes for a {fileBytes}-byte file");
                dst.Write(buf, 0, n);
            }
            return dst.ToArray();
        }
        catch (InvalidDataException e) { throw new DszFormatException($"compressed header is corrupt: {OneLine(e.Message)}", e); }
    }

    internal static void CheckZero(ReadOnlySpan<byte> padding, string what)
    {
        if (padding.ContainsAnyExcept((byte)0)) throw new DszFormatException($"non-zero bytes in {what}");
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}

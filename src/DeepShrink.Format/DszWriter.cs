using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Format;

/// <summary>
/// Builds a <c>.dsz</c> compressed model: encoded tensors, the model graph (an opaque JSON value
/// supplied by the caller) and free string metadata. Output bytes depend only on the inputs.
/// </summary>
/// <example>
/// <code>
/// var w = new DszWriter();
/// w.SetGraph(JsonNode.Parse("{\"model\":\"lenet-300-100\"}"));
/// w.SetMetadata("accuracy", "0.981");
/// w.Add("fc1.weight", SparseCodebookCodec.EncodeValues(weights, [300, 784], centroids, gapBits: 5, huffman: true));
/// w.WriteTo("model.dsz");
/// </code>
/// </example>
public sealed class DszWriter
{
    private readonly List<(string Name, EncodedTensor Tensor)> _tensors = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, string> _metadata = new(StringComparer.Ordinal);
    private string? _graphJson;

    /// <summary>Names of the tensors added so far, in order.</summary>
    public IReadOnlyList<string> TensorNames => _tensors.ConvertAll(t => t.Name);

    /// <summary>Stores <paramref name="graph"/> verbatim as the model description (null removes it).</summary>
    public DszWriter SetGraph(JsonNode? graph)
    {
        _graphJson = graph?.ToJsonString();
        return this;
    }

    /// <summary>Stores a model description given as JSON text (validated, stored verbatim).</summary>
    public DszWriter SetGraphJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try { using var _ = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new ArgumentException($"graph is not valid JSON: {e.Message}", nameof(json)); }
        _graphJson = json;
        return this;
    }

    /// <summary>Sets a metadata entry (e.g. accuracy, recipe); keys are stored sorted.</summary>
    public DszWriter SetMetadata(string key, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        _metadata[key] = value;
        return this;
    }

    /// <summary>Adds a tensor; names must be unique and non-empty. Tensors are stored in insertion order.</summary>
    public DszWriter Add(string name, EncodedTensor tensor)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_names.Add(name)) throw new ArgumentException($"tensor '{name}' was already added", nameof(name));
        _tensors.Add((name, tensor));
        return this;
    }

    /// <summary>Store the JSON header deflate-compressed (flag bit 0; default true). Headers of small
    /// models are a noticeable share of the file, and deflate cuts them about 3x.</summary>
    public bool CompressHeader { get; set; } = true;

    /// <summary>
    /// Align the data section and every blob to 64 bytes (for memory-mapped readers); false (the default)
    /// packs them, which saves up to 63 bytes per blob and sets flag bit 1. Readers accept both.
    /// </summary>
    public bool AlignBlobs { get; set; }

    /// <summary>The complete file as bytes.</summary>
    public byte[] ToArray()
    {
        using var ms = new MemoryStream();
        WriteTo(ms);
        return ms.ToArray();
    }

    /// <summary>
    /// Writes the file to <paramref name="path"/> atomically (<see cref="AtomicFile"/>): the bytes go to a
    /// temporary file in the same directory, which then replaces <paramref name="path"/>; a failure leaves no partial file.
    /// </summary>
    public void WriteTo(string path) => AtomicFile.Write(path, WriteTo);

    /// <summary>Writes the file to a stream (from its current position).</summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var blobs = new List<ReadOnlyMemory<byte>>();
        var partRefs = new List<List<(string Part, int Blob)>>();
        foreach (var (_, t) in _tensors)
        {
            var refs = new List<(string, int)>();
            foreach (var part in t.Parts.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                refs.Add((part.Key, blobs.Count));
                blobs.Add(part.Value);
            }
            partRefs.Add(refs);
        }
        bool packed = !AlignBlobs;
        byte[] header = BuildHeader(blobs, partRefs, packed);
        uint flags = packed ? DszLayout.FlagPackedBlobs : 0;
        if (CompressHeader)
        {
            using var ms = new MemoryStream();
            using (var z = new System.IO.Compression.DeflateStream(ms, System.IO.Compression.CompressionLevel.SmallestSize, leaveOpen: true))
                z.Write(header);
            header = ms.ToArray();
            flags |= DszLayout.FlagDeflatedHeader;
        }

        Span<byte> pre = stackalloc byte[DszLayout.PreambleBytes];
        pre.Clear();
        DszLayout.Magic.CopyTo(pre);
        BinaryPrimitives.WriteUInt32LittleEndian(pre[8..], DszLayout.Version);
        BinaryPrimitives.WriteUInt32LittleEndian(pre[12..], flags);
        BinaryPrimitives.WriteUInt64LittleEndian(pre[16..], (ulong)header.Length);
        uint crc = DszChecksum.Finish(DszChecksum.Append(DszChecksum.Append(DszChecksum.Start, pre[..DszLayout.ChecksummedPreambleBytes]), header));
        BinaryPrimitives.WriteUInt32LittleEndian(pre[24..], crc);
        stream.Write(pre);
        stream.Write(header);
        long pos = DszLayout.PreambleBytes + header.Length;
        var zeros = new byte[DszLimits.BlobAlignment];
        stream.Write(zeros, 0, (int)(DszLayout.Align(pos, packed) - pos));
        long dataPos = 0;
        foreach (var blob in blobs)
        {
            long aligned = DszLayout.Align(dataPos, packed);
            stream.Write(zeros, 0, (int)(aligned - dataPos));
            stream.Write(blob.Span);
            dataPos = aligned + blob.Length;
        }
    }

    private byte[] BuildHeader(List<ReadOnlyMemory<byte>> blobs, List<List<(string Part, int Blob)>> partRefs, bool packed)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WritePropertyName("graph");
            if (_graphJson is null) w.WriteNullValue(); else w.WriteRawValue(_graphJson);
            w.WriteStartObject("metadata");
            foreach (var (k, v) in _metadata) w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteStartArray("tensors");
            for (int i = 0; i < _tensors.Count; i++)
            {
                var (name, t) = _tensors[i];
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteString("codec", t.Codec);
                w.WritePropertyName("params");
                t.Params.WriteTo(w);
                w.WriteStartObject("parts");
                foreach (var (part, blob) in partRefs[i]) w.WriteNumber(part, blob);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("blobs");
            long offset = 0;
            foreach (var blob in blobs)
            {
                offset = DszLayout.Align(offset, packed);
                w.WriteStartObject();
                w.WriteNumber("offset", offset);
                w.WriteNumber("length", blob.Length);
                w.WriteNumber("crc32c", DszChecksum.Compute(blob.Span));
                w.WriteEndObject();
                offset += blob.Length;
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }
}

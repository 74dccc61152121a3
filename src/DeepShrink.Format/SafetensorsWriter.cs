using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace DeepShrink.Format;

/// <summary>
/// Writes safetensors files: tensors in ordinal name order, data contiguous, header JSON padded
/// with spaces so the data starts at an 8-byte aligned offset.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Serialises tensors and optional metadata to a byte array.</summary>
    /// <exception cref="ArgumentException">A tensor is named <c>__metadata__</c>.</exception>
    public static byte[] Serialize(IReadOnlyDictionary<string, SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ms = new MemoryStream();
        WriteTo(ms, tensors, metadata);
        return ms.ToArray();
    }

    /// <summary>Atomically writes a safetensors file (temporary file + rename, see <see cref="AtomicFile"/>).</summary>
    public static void Write(string path, IReadOnlyDictionary<string, SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var sorted = Sorted(tensors);
        AtomicFile.Write(path, s => WriteSorted(s, sorted, metadata));
    }

    /// <summary>Writes tensors and optional metadata to <paramref name="stream"/>.</summary>
    public static void WriteTo(Stream stream, IReadOnlyDictionary<string, SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        WriteSorted(stream, Sorted(tensors), metadata);
    }

    private static List<KeyValuePair<string, SafetensorsTensor>> Sorted(IReadOnlyDictionary<string, SafetensorsTensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        foreach (var kv in list)
        {
            if (kv.Key == SafetensorsReader.MetadataKey) throw new ArgumentException($"'{SafetensorsReader.MetadataKey}' is reserved and cannot name a tensor", nameof(tensors));
            ArgumentNullException.ThrowIfNull(kv.Value, $"tensors[{kv.Key}]");
        }
        return list;
    }

    private static void WriteSorted(Stream stream, List<KeyValuePair<string, SafetensorsTensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var header = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(header, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafetensorsReader.MetadataKey);
                foreach (var kv in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    json.WriteString(kv.Key, kv.Value ?? throw new ArgumentException($"metadata value for '{kv.Key}' is null", nameof(metadata)));
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in tensors)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", t.DType.JsonName());
                json.WriteStartArray("shape");
                foreach (int d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + t.Data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += t.Data.Length;
            }
            json.WriteEndObject();
        }
        int padded = (header.WrittenCount + 7) & ~7;
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
        stream.Write(len);
        stream.Write(header.WrittenSpan);
        for (int i = header.WrittenCount; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var (_, t) in tensors) stream.Write(t.Data.Span);
    }
}

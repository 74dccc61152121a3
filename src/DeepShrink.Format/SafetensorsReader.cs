using System.Buffers.Binary;
using System.Text.Json;

namespace DeepShrink.Format;

/// <summary>
/// Reads and validates safetensors files: an 8-byte little-endian header length N, N bytes of
/// UTF-8 JSON <c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}</c>,
/// then the tensor bytes (offsets relative to the end of the header).
/// </summary>
/// <remarks>
/// Validation follows the reference implementation (huggingface/safetensors): the header length
/// must fit in the file and under <see cref="MaxHeaderBytes"/>; the header must be a JSON object;
/// every tensor needs a known dtype, a shape of non-negative integers and two offsets with
/// begin &lt;= end; byte ranges must tile the data region exactly (no overlap, no gap, no trailing
/// bytes); each range's length must equal element count times element size. Any violation throws
/// <see cref="SafetensorsException"/> with a one-line message; corrupt input never surfaces as
/// another exception type.
/// </remarks>
public static class SafetensorsReader
{
    /// <summary>Largest accepted header (100 MB, as in the reference implementation).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>The reserved header key holding the string-to-string metadata map.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>Reads and validates a safetensors file.</summary>
    /// <exception cref="SafetensorsException">The file is malformed.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafetensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: file not found", path);
        long length = info.Length;
        if (length > Array.MaxLength) throw new SafetensorsException($"{path}: file is {length} bytes, too large to load into memory");
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses and validates an in-memory safetensors image. Tensors alias <paramref name="bytes"/>.</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="source">Name used in error messages (a path), or null.</param>
    /// <exception cref="SafetensorsException">The content is malformed.</exception>
    public static SafetensorsFile Parse(ReadOnlyMemory<byte> bytes, string? source = null)
    {
        string where = source is null ? "safetensors" : source;
        SafetensorsException Fail(string problem) => new($"{where}: {problem}");

        if (bytes.Length < 8)
            throw Fail($"file is {bytes.Length} bytes long; a safetensors file starts with an 8-byte header length");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(bytes.Span);
        long available = bytes.Length - 8L;
        if (headerLen > (ulong)available)
            throw Fail($"header length {headerLen} exceeds the {available} bytes that follow it (truncated or not a safetensors file)");
        if (headerLen > MaxHeaderBytes)
            throw Fail($"header length {headerLen} exceeds the {MaxHeaderBytes}-byte limit");
        if (headerLen < 2)
            throw Fail($"header length {headerLen} is too small for a JSON object");

        var header = bytes.Slice(8, (int)headerLen);
        if (JsonStrings.Utf8Problem(header.Span) is { } utf8) throw Fail($"header {utf8}");
        var data = bytes[(8 + (int)headerLen)..];
        var entries = new List<(string Name, SafetensorsDType DType, int[] Shape, long Begin, long End)>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 16 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw Fail($"header is a JSON {doc.RootElement.ValueKind}, expected an object");
            if (JsonStrings.StringProblem(doc.RootElement) is { } text) throw Fail($"header {text}");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name)) throw Fail($"header has duplicate key '{prop.Name}'");
                if (prop.Name == MetadataKey) ReadMetadata(prop.Value, metadata, Fail);
                else entries.Add(ReadEntry(prop.Name, prop.Value, Fail));
            }
        }
        catch (JsonException ex)
        {
            throw Fail($"header is not valid JSON: {OneLine(ex.Message)}");
        }

        CheckLayout(entries.Select(e => (e.Name, e.Begin, e.End)).ToList(), data.Length, Fail);
        var tensors = new Dictionary<string, SafetensorsTensor>(entries.Count, StringComparer.Ordinal);
        foreach (var e in entries)
        {
            long n = SafetensorsTensor.CheckedElementCount(e.Shape) ?? throw Fail($"tensor '{e.Name}': shape is too large");
            long need = n * e.DType.ElementSize();
            if (need != e.End - e.Begin)
                throw Fail($"tensor '{e.Name}': {e.DType} shape [{string.Join(", ", e.Shape)}] needs {need} bytes but data_offsets [{e.Begin}, {e.End}] span {e.End - e.Begin}");
            tensors.Add(e.Name, new SafetensorsTensor(e.DType, e.Shape, data.Slice((int)e.Begin, (int)(e.End - e.Begin))));
        }
        return new SafetensorsFile(tensors, metadata);
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, Func<string, SafetensorsException> fail)
    {
        if (value.ValueKind != JsonValueKind.Object) throw fail($"{MetadataKey} is a JSON {value.ValueKind}, expected an object of strings");
        foreach (var kv in value.EnumerateObject())
        {
            if (kv.Value.ValueKind != JsonValueKind.String)
                throw fail($"{MetadataKey} value for '{kv.Name}' is a JSON {kv.Value.ValueKind}, expected a string");
            if (!metadata.TryAdd(kv.Name, kv.Value.GetString()!)) throw fail($"{MetadataKey} has duplicate key '{kv.Name}'");
        }
    }

    private static (string, SafetensorsDType, int[], long, long) ReadEntry(string name, JsonElement value, Func<string, SafetensorsException> fail)
    {
        if (value.ValueKind != JsonValueKind.Object) throw fail($"tensor '{name}' is a JSON {value.ValueKind}, expected an object");
        if (!value.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw fail($"tensor '{name}' has no string 'dtype'");
        if (!SafetensorsDTypes.TryParse(dt.GetString()!, out var dtype))
            throw fail($"tensor '{name}' has unsupported dtype '{dt.GetString()}'");
        if (!value.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw fail($"tensor '{name}' has no 'shape' array");
        var shape = new int[sh.GetArrayLength()];
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out shape[i]) || shape[i] < 0)
                throw fail($"tensor '{name}' has an invalid dimension {d.GetRawText()} in 'shape' (need an integer in [0, {int.MaxValue}])");
            i++;
        }
        if (!value.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw fail($"tensor '{name}' needs 'data_offsets' as an array of two integers");
        if (!TryOffset(off[0], out long begin) || !TryOffset(off[1], out long end))
            throw fail($"tensor '{name}' has invalid data_offsets {off.GetRawText()} (need non-negative integers)");
        if (begin > end) throw fail($"tensor '{name}' has data_offsets [{begin}, {end}] with begin after end");
        return (name, dtype, shape, begin, end);
    }

    private static bool TryOffset(JsonElement e, out long v)
    {
        v = 0;
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out v) && v >= 0;
    }

    /// <summary>Byte ranges must tile [0, dataLength) exactly, in offset order.</summary>
    private static void CheckLayout(List<(string Name, long Begin, long End)> ranges, long dataLength, Func<string, SafetensorsException> fail)
    {
        ranges.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expected = 0;
        string prev = "start of data";
        foreach (var (name, begin, end) in ranges)
        {
            if (begin < expected) throw fail($"tensor '{name}' bytes [{begin}, {end}) overlap tensor '{prev}' (ends at {expected})");
            if (begin > expected) throw fail($"tensor '{name}' starts at {begin} but the previous data ({prev}) ends at {expected}: gap in data");
            if (end > dataLength) throw fail($"tensor '{name}' data_offsets [{begin}, {end}] run past the end of the data ({dataLength} bytes): truncated file?");
            expected = end;
            prev = name;
        }
        if (expected != dataLength) throw fail($"{dataLength - expected} trailing bytes after the last tensor's data");
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}

using System.Text.Json;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Format;

/// <summary>Strict parser of the <c>.dsz</c> JSON header; validates the blob table against the data section.</summary>
internal sealed class DszHeader
{
    private static readonly string[] TopKeys = ["graph", "metadata", "tensors", "blobs"];
    private static readonly string[] TensorKeys = ["name", "shape", "codec", "params", "parts"];
    private static readonly string[] BlobKeys = ["offset", "length", "crc32c"];

    public string? GraphJson { get; private init; }
    public IReadOnlyDictionary<string, string> Metadata { get; private init; } = new Dictionary<string, string>();
    public List<DszTensor> Tensors { get; private init; } = new();

    /// <summary>Parses the header; <paramref name="data"/> is the data section (from the first blob to the end of the file).</summary>
    public static DszHeader Parse(JsonElement root, ReadOnlyMemory<byte> data, DszReadOptions options, bool packed)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new DszFormatException("header is not a JSON object");
        ExpectKeys(root, TopKeys, "header");
        var blobs = ParseBlobs(Get(root, "blobs", JsonValueKind.Array, "header"), data, packed);
        var used = new bool[blobs.Count];
        var tensors = new List<DszTensor>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        int index = 0;
        foreach (var te in Get(root, "tensors", JsonValueKind.Array, "header").EnumerateArray())
        {
            string ctx = $"tensor #{index++}";
            if (te.ValueKind != JsonValueKind.Object) throw new DszFormatException($"{ctx} is not a JSON object");
            ExpectKeys(te, TensorKeys, ctx);
            string name = Get(te, "name", JsonValueKind.String, ctx).GetString()!;
            if (name.Length == 0 || !names.Add(name)) throw new DszFormatException($"{ctx}: empty or duplicate name '{name}'");
            ctx = $"tensor '{name}'";
            var shape = new List<int>();
            foreach (var d in Get(te, "shape", JsonValueKind.Array, ctx).EnumerateArray())
            {
                if (shape.Count >= DszLimits.MaxRank) throw new DszFormatException($"{ctx}: rank exceeds {DszLimits.MaxRank}");
                if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int v) || v < 0) throw new DszFormatException($"{ctx}: shape holds an invalid dimension");
                shape.Add(v);
            }
            string codec = Get(te, "codec", JsonValueKind.String, ctx).GetString()!;
            TensorCodecs.Get(codec); // unknown codecs fail while reading, not later
            var parameters = Get(te, "params", JsonValueKind.Object, ctx);
            var parts = new List<KeyValuePair<string, ReadOnlyMemory<byte>>>();
            foreach (var p in Get(te, "parts", JsonValueKind.Object, ctx).EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int b) || b < 0 || b >= blobs.Count)
                    throw new DszFormatException($"{ctx}: part '{p.Name}' refers to a missing blob");
                if (used[b]) throw new DszFormatException($"{ctx}: blob {b} is used twice");
                used[b] = true;
                parts.Add(new(p.Name, blobs[b]));
            }
            try { tensors.Add(new DszTensor(name, new EncodedTensor(codec, shape.ToArray(), parameters, parts), options)); }
            catch (DszFormatException e) { throw e.WithContext(ctx); }
        }
        int unused = Array.IndexOf(used, false);
        if (unused >= 0) throw new DszFormatException($"blob {unused} is not used by any tensor");

        string? graph = null;
        if (root.TryGetProperty("graph", out var g) && g.ValueKind != JsonValueKind.Null) graph = g.GetRawText();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.TryGetProperty("metadata", out var m))
        {
            if (m.ValueKind != JsonValueKind.Object) throw new DszFormatException("header: 'metadata' is not a JSON object");
            foreach (var kv in m.EnumerateObject())
            {
                if (kv.Value.ValueKind != JsonValueKind.String) throw new DszFormatException($"metadata '{kv.Name}' is not a string");
                if (!metadata.TryAdd(kv.Name, kv.Value.GetString()!)) throw new DszFormatException($"metadata '{kv.Name}' appears twice");
            }
        }
        return new DszHeader { GraphJson = graph, Metadata = metadata, Tensors = tensors };
    }

    /// <summary>
    /// Blob table: blob i starts at the first 64-byte boundary after blob i-1 (blob 0 at 0), the file ends
    /// right after the last blob, padding is zero and every blob matches its CRC-32C.
    /// </summary>
    private static List<ReadOnlyMemory<byte>> ParseBlobs(JsonElement array, ReadOnlyMemory<byte> data, bool packed)
    {
        var result = new List<ReadOnlyMemory<byte>>();
        long end = 0;
        foreach (var be in array.EnumerateArray())
        {
            string ctx = $"blob {result.Count}";
            if (be.ValueKind != JsonValueKind.Object) throw new DszFormatException($"{ctx} is not a JSON object");
            ExpectKeys(be, BlobKeys, ctx);
            long offset = GetLong(be, "offset", ctx), length = GetLong(be, "length", ctx), crc = GetLong(be, "crc32c", ctx);
            long expected = DszLayout.Align(end, packed);
            if (offset != expected) throw new DszFormatException($"{ctx}: offset {offset}, expected {expected}");
            if (length > data.Length - offset) throw new DszFormatException($"truncated .dsz: {ctx} ends at {offset + length} of a {data.Length}-byte data section");
            if (crc > uint.MaxValue) throw new DszFormatException($"{ctx}: invalid checksum value");
            DszFile.CheckZero(data.Span[(int)end..(int)offset], $"padding before {ctx}");
            var blob = data.Slice((int)offset, (int)length);
            uint actual = DszChecksum.Compute(blob.Span);
            if (actual != (uint)crc) throw new DszFormatException($"{ctx}: checksum mismatch (stored 0x{crc:X8}, computed 0x{actual:X8})");
            result.Add(blob);
            end = offset + length;
        }
        if (end != data.Length) throw new DszFormatException($"{data.Length - end} unexpected bytes after the last blob");
        return result;
    }

    private static void ExpectKeys(JsonElement obj, string[] allowed, string ctx)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in obj.EnumerateObject())
        {
            if (Array.IndexOf(allowed, p.Name) < 0) throw new DszFormatException($"{ctx}: unknown key '{p.Name}'");
            if (!seen.Add(p.Name)) throw new DszFormatException($"{ctx}: key '{p.Name}' appears twice");
        }
    }

    private static JsonElement Get(JsonElement obj, string key, JsonValueKind kind, string ctx)
    {
        if (!obj.TryGetProperty(key, out var v)) throw new DszFormatException($"{ctx}: missing '{key}'");
        if (v.ValueKind != kind) throw new DszFormatException($"{ctx}: '{key}' is not a JSON {kind.ToString().ToLowerInvariant()}");
        return v;
    }

    private static long GetLong(JsonElement obj, string key, string ctx)
    {
        var v = Get(obj, key, JsonValueKind.Number, ctx);
        if (!v.TryGetInt64(out long x) || x < 0) throw new DszFormatException($"{ctx}: '{key}' is not a non-negative integer");
        return x;
    }
}

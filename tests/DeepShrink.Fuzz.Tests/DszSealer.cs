using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using DeepShrink.Core;
using DeepShrink.Format;

namespace DeepShrink.Fuzz.Tests;

/// <summary>
/// Splits a <c>.dsz</c> file into its JSON header and blobs, and builds files back from mutated parts
/// with correct checksums and offsets (docs/FORMAT-dsz.md), so mutants get past the container checks
/// and reach the header, codec and graph parsers.
/// </summary>
internal sealed class DszSealer
{
    private static readonly byte[] Magic = [0x89, (byte)'D', (byte)'S', (byte)'Z', 0x0D, 0x0A, 0x1A, 0x0A];
    private const uint PackedFlag = 2, DeflatedFlag = 1;

    public DszSealer(byte[] file)
    {
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(12));
        int headerLen = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(16)));
        Packed = (flags & PackedFlag) != 0;
        byte[] header = file.AsSpan(32, headerLen).ToArray();
        if ((flags & DeflatedFlag) != 0)
        {
            using var z = new DeflateStream(new MemoryStream(header), CompressionMode.Decompress);
            using var ms = new MemoryStream();
            z.CopyTo(ms);
            header = ms.ToArray();
        }
        Header = header;
        long dataStart = Align(32 + headerLen, Packed);
        var root = JsonNode.Parse(header)!;
        foreach (var b in root["blobs"]!.AsArray())
            Blobs.Add(file.AsSpan((int)(dataStart + (long)b!["offset"]!), (int)(long)b["length"]!).ToArray());
    }

    /// <summary>The header JSON (inflated), UTF-8.</summary>
    public byte[] Header { get; }

    /// <summary>The blobs in file order.</summary>
    public List<byte[]> Blobs { get; } = new();

    /// <summary>Whether blobs are packed (flag bit 1).</summary>
    public bool Packed { get; }

    /// <summary>
    /// A file from <paramref name="header"/> and <paramref name="blobs"/>: the blob table is rewritten with
    /// the real offsets, lengths and CRCs when <paramref name="fixTable"/> (and the header parses), and
    /// the header checksum is always correct; the header is stored raw or deflated.
    /// </summary>
    public byte[] Seal(byte[] header, IReadOnlyList<byte[]> blobs, bool fixTable, bool deflate)
    {
        if (fixTable) header = FixTable(header, blobs) ?? header;
        if (deflate)
        {
            using var ms = new MemoryStream();
            using (var z = new DeflateStream(ms, CompressionLevel.Fastest, leaveOpen: true)) z.Write(header);
            header = ms.ToArray();
        }
        using var o = new MemoryStream();
        var pre = new byte[32];
        Magic.CopyTo(pre, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(pre.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(pre.AsSpan(12), (Packed ? PackedFlag : 0) | (deflate ? DeflatedFlag : 0));
        BinaryPrimitives.WriteUInt64LittleEndian(pre.AsSpan(16), (ulong)header.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(pre.AsSpan(24), DszChecksum.Finish(DszChecksum.Append(DszChecksum.Append(DszChecksum.Start, pre.AsSpan(0, 24)), header)));
        o.Write(pre);
        o.Write(header);
        o.Write(new byte[Align(o.Length, Packed) - o.Length]);
        long pos = 0;
        foreach (var b in blobs)
        {
            long at = Align(pos, Packed);
            o.Write(new byte[at - pos]);
            o.Write(b);
            pos = at + b.Length;
        }
        return o.ToArray();
    }

    private byte[]? FixTable(byte[] header, IReadOnlyList<byte[]> blobs)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(header); }
        catch (System.Text.Json.JsonException) { return null; }
        catch (InvalidOperationException) { return null; }
        if (root is not JsonObject o) return null;
        var table = new JsonArray();
        long pos = 0;
        foreach (var b in blobs)
        {
            pos = Align(pos, Packed);
            table.Add(new JsonObject { ["offset"] = pos, ["length"] = b.Length, ["crc32c"] = DszChecksum.Compute(b) });
            pos += b.Length;
        }
        o["blobs"] = table;
        try { return Encoding.UTF8.GetBytes(o.ToJsonString()); }
        catch (InvalidOperationException) { return null; }
    }

    private static long Align(long x, bool packed) => packed ? x : (x + 63) / 64 * 64;

    /// <summary>
    /// A re-sealed mutant: the header text mutated (tokens, bytes), a blob mutated (bytes, truncation,
    /// extension) with the table fixed, or a JSON value of the header replaced by a hostile one.
    /// </summary>
    public byte[] Mutant(Rng rng)
    {
        var blobs = Blobs.Select(b => b).ToList();
        bool deflate = rng.NextInt(2) == 0;
        switch (rng.NextInt(3))
        {
            case 0:
                return Seal(Mutator.MutateText(Header, rng), blobs, fixTable: rng.NextInt(2) == 0, deflate);
            case 1:
                if (blobs.Count > 0)
                {
                    int i = rng.NextInt(blobs.Count);
                    blobs[i] = Mutator.Mutate(blobs[i], rng, []);
                }
                return Seal(Header, blobs, fixTable: true, deflate);
            default:
                return Seal(ReplaceValue(Header, rng), blobs, fixTable: rng.NextInt(4) != 0, deflate);
        }
    }

    private static readonly string[] HostileValues =
    [
        "null", "[]", "{}", "[null]", "{\"a\":null}", "-1", "0", "1", "2147483647", "2147483648", "-2147483649", "1e308", "1.5",
        "\"\"", "\"\\ud800\"", "\"x\"", "true", "[1,2,3]", "[65536,65536]", "[0]", "[[]]",
    ];

    /// <summary>Replaces one JSON value (object member or array item, anywhere in the header) by a hostile value.</summary>
    private static byte[] ReplaceValue(byte[] header, Rng rng)
    {
        var root = JsonNode.Parse(header)!;
        var slots = new List<(JsonNode Parent, object Key)>();
        void Walk(JsonNode? n)
        {
            switch (n)
            {
                case JsonObject o:
                    foreach (var (k, v) in o.ToList()) { slots.Add((o, k)); Walk(v); }
                    break;
                case JsonArray a:
                    for (int i = 0; i < a.Count; i++) { slots.Add((a, i)); Walk(a[i]); }
                    break;
            }
        }
        Walk(root);
        if (slots.Count == 0) return header;
        var (parent, key) = slots[rng.NextInt(slots.Count)];
        string hostile = HostileValues[rng.NextInt(HostileValues.Length)];
        const string Marker = "\"@@hostile@@\"";
        if (parent is JsonObject po) po[(string)key] = "@@hostile@@"; else ((JsonArray)parent)[(int)key] = "@@hostile@@";
        return Encoding.UTF8.GetBytes(root.ToJsonString().Replace(Marker, hostile, StringComparison.Ordinal)); // textual: keeps invalid escapes
    }
}

using DeepShrink.Format;

namespace DeepShrink.Compression;

/// <summary>One row of the per-layer compression table (Deep Compression, Tables 2-3).</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="Codec">Codec.</param>
/// <param name="Shape">Shape.</param>
/// <param name="Stats">Size statistics of the stored tensor.</param>
public sealed record LayerRow(string Name, string Codec, int[] Shape, DszTensorStats Stats)
{
    /// <summary>Weights (elements).</summary>
    public long Weights => Stats.Elements;
    /// <summary>Kept fraction after pruning.</summary>
    public double Kept => Stats.KeptFraction;
    /// <summary>Average value bits per stored entry before Huffman (P+Q).</summary>
    public double ValueBitsPQ => Stats.StoredEntries == 0 ? 0 : (double)Stats.ValueBitsPlain / Stats.StoredEntries;
    /// <summary>Average value bits per stored entry after Huffman (P+Q+H).</summary>
    public double ValueBitsPQH => Stats.AvgValueBitsCoded;
    /// <summary>Average index bits per stored entry before Huffman.</summary>
    public double IndexBitsPQ => Stats.StoredEntries == 0 ? 0 : (double)Stats.IndexBitsPlain / Stats.StoredEntries;
    /// <summary>Average index bits per stored entry after Huffman.</summary>
    public double IndexBitsPQH => Stats.AvgIndexBitsCoded;
    /// <summary>Dense fp32 bytes / stored payload bytes.</summary>
    public double Rate => Stats.PayloadBytes == 0 ? 0 : (double)Stats.DenseBytes / Stats.PayloadBytes;

    /// <summary>As a JSON-friendly dictionary (stable keys, docs/CLI.md).</summary>
    public Dictionary<string, object> ToDictionary() => new()
    {
        ["name"] = Name, ["codec"] = Codec, ["shape"] = Shape, ["weights"] = Weights,
        ["nonzeros"] = Stats.Nonzeros, ["kept_fraction"] = Math.Round(Kept, 6),
        ["value_bits_pq"] = Math.Round(ValueBitsPQ, 3), ["value_bits_pqh"] = Math.Round(ValueBitsPQH, 3),
        ["index_bits_pq"] = Math.Round(IndexBitsPQ, 3), ["index_bits_pqh"] = Math.Round(IndexBitsPQH, 3),
        ["filler_entries"] = Stats.FillerEntries,
        ["dense_bytes"] = Stats.DenseBytes, ["stored_bytes"] = Stats.PayloadBytes, ["compression_rate"] = Math.Round(Rate, 3),
        ["value_bytes"] = ValueBytes, ["index_bytes"] = IndexBytes, ["side_bytes"] = Stats.PayloadBytes - ValueBytes - IndexBytes,
    };

    /// <summary>Bytes of the stored value stream (weights or codebook indices), rounded up.</summary>
    public long ValueBytes => Math.Min(Stats.PayloadBytes, (Stats.ValueBitsCoded + 7) / 8);
    /// <summary>Bytes of the stored sparse index stream, rounded up (0 for dense codecs).</summary>
    public long IndexBytes => Math.Min(Stats.PayloadBytes - ValueBytes, (Stats.IndexBitsCoded + 7) / 8);
}

/// <summary>Builds the per-layer table of a .dsz file.</summary>
public static class DszReport
{
    /// <summary>Rows for every tensor, in file order.</summary>
    public static List<LayerRow> Rows(DszFile file)
        => file.Tensors.Select(t => new LayerRow(t.Name, t.Codec, t.Shape.ToArray(), t.ComputeStats())).ToList();

    /// <summary>Dense float32 bytes of all tensors.</summary>
    public static long DenseBytes(IEnumerable<LayerRow> rows) => rows.Sum(r => r.Stats.DenseBytes);
}

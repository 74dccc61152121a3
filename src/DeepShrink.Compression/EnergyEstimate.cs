namespace DeepShrink.Compression;

/// <summary>One layer as the energy model sees it: its multiply-accumulates per sample and how its weights are stored.</summary>
/// <param name="Name">Layer (graph node) name.</param>
/// <param name="Macs">Dense multiply-accumulates per sample (op schema).</param>
/// <param name="Parameters">Weights of the layer.</param>
/// <param name="Nonzeros">Nonzero weights.</param>
/// <param name="StoredBytes">Bytes of the layer's tensors as stored (payload, including indices and codebooks).</param>
/// <param name="Codec">Codec of the layer's main tensor (<c>dense-f32</c>, <c>sparse-codebook</c>, <c>int8</c>, ...).</param>
/// <param name="ComputeFraction">Fraction of the dense MACs the stored form needs (low-rank factors: factor elements / elements); null: derived from the codec.</param>
public sealed record EnergyLayer(string Name, long Macs, long Parameters, long Nonzeros, long StoredBytes, string Codec, double? ComputeFraction = null);

/// <summary>Per-inference totals under one storage form: weight bytes fetched, MACs by precision, energy.</summary>
public sealed record EnergyTotals(long WeightBytes, IReadOnlyDictionary<string, long> MacsByPrecision, double ComputePicojoules, double DramPicojoules, double SramPicojoules)
{
    /// <summary>Energy per inference with the weights fetched from DRAM, in microjoules.</summary>
    public double DramMicrojoules => (ComputePicojoules + DramPicojoules) / 1e6;
    /// <summary>Energy per inference with the weights held in on-chip SRAM, in microjoules.</summary>
    public double SramMicrojoules => (ComputePicojoules + SramPicojoules) / 1e6;

    /// <summary>JSON-friendly form (stable keys, docs/CLI.md <c>energy</c>).</summary>
    public Dictionary<string, object> ToDictionary() => new()
    {
        ["weight_bytes_fetched"] = WeightBytes,
        ["macs_by_precision"] = MacsByPrecision.ToDictionary(kv => kv.Key, kv => (object)kv.Value),
        ["compute_uj"] = Math.Round(ComputePicojoules / 1e6, 4),
        ["weights_dram_uj"] = Math.Round(DramPicojoules / 1e6, 4),
        ["weights_sram_uj"] = Math.Round(SramPicojoules / 1e6, 4),
        ["total_dram_uj"] = Math.Round(DramMicrojoules, 4),
        ["total_sram_uj"] = Math.Round(SramMicrojoules, 4),
    };
}

/// <summary>
/// Energy and bandwidth of one inference (batch 1), dense against compressed, from a stated cost model:
/// Horowitz, "Computing's energy problem" (ISSCC 2014), 45 nm, 0.9 V: 32-bit DRAM access 640 pJ, 32-bit SRAM
/// access 5 pJ (8 KB), fp32 multiply 3.7 pJ, fp32 add 0.9 pJ, fp16 multiply 1.1 pJ, fp16 add 0.4 pJ, int8
/// multiply 0.2 pJ, int8 add 0.03 pJ.
/// </summary>
/// <remarks>
/// Assumptions (printed beside the numbers): every stored weight byte is fetched once per inference, either from
/// DRAM (the model does not fit on chip) or from SRAM (it does), at the 32-bit access cost per 4 bytes; activations,
/// index decoding and control are not counted. A MAC is one multiply plus one add at the weight's precision:
/// fp32 for dense, sparse and codebook weights (a codebook index selects an fp32 centroid), fp16 for dense-f16,
/// int8 for int8 codecs, and one fp32 add for binary weights (sign selects add or subtract). Sparse codecs skip
/// the MACs of pruned weights; low-rank factors need factor-elements / elements of the dense MACs.
/// Han, Mao and Dally (Deep Compression, ICLR 2016, sec. 6) use the same DRAM/SRAM argument.
/// </remarks>
public static class EnergyEstimate
{
    /// <summary>pJ per 32-bit DRAM access.</summary>
    public const double DramPj32 = 640;
    /// <summary>pJ per 32-bit SRAM access.</summary>
    public const double SramPj32 = 5;

    /// <summary>pJ per multiply-accumulate (multiply + add) by precision.</summary>
    public static readonly IReadOnlyDictionary<string, double> MacPj = new Dictionary<string, double>
    {
        ["fp32"] = 3.7 + 0.9, ["fp16"] = 1.1 + 0.4, ["int8"] = 0.2 + 0.03, ["binary"] = 0.9,
    };

    /// <summary>One-line statement of the cost model, for reports.</summary>
    public const string Assumptions =
        "Horowitz 2014, 45 nm: DRAM 640 pJ / 32 bit, SRAM 5 pJ / 32 bit, fp32 mult 3.7 + add 0.9 pJ, fp16 1.1 + 0.4 pJ, int8 0.2 + 0.03 pJ, binary = one fp32 add; " +
        "each stored weight byte fetched once per inference (batch 1); activations, index decoding and control not counted; sparse codecs skip pruned MACs";

    /// <summary>Precision of the MACs of a layer stored with <paramref name="codec"/>.</summary>
    public static string PrecisionOf(string codec) => codec switch
    {
        _ when codec.Contains("int8", StringComparison.Ordinal) => "int8",
        _ when codec.Contains("binary", StringComparison.Ordinal) => "binary",
        _ when codec.Contains("f16", StringComparison.Ordinal) => "fp16",
        _ => "fp32",
    };

    /// <summary>The layers as dense fp32 (what an uncompressed model fetches and computes).</summary>
    public static EnergyTotals Dense(IEnumerable<EnergyLayer> layers)
        => Estimate(layers.Select(l => l with { StoredBytes = 4 * l.Parameters, Codec = "dense-f32", Nonzeros = l.Parameters, ComputeFraction = 1 }));

    /// <summary>The layers as stored.</summary>
    public static EnergyTotals Estimate(IEnumerable<EnergyLayer> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var macs = new Dictionary<string, long>();
        long bytes = 0;
        double compute = 0;
        foreach (var l in layers)
        {
            if (l.Macs < 0 || l.Parameters < 0 || l.StoredBytes < 0) throw new ArgumentException($"layer {l.Name}: negative count");
            double fraction = l.ComputeFraction ?? (l.Codec.StartsWith("sparse", StringComparison.Ordinal) && l.Parameters > 0 ? (double)l.Nonzeros / l.Parameters : 1);
            long m = (long)Math.Round(l.Macs * Math.Clamp(fraction, 0, 1));
            var p = PrecisionOf(l.Codec);
            macs[p] = macs.GetValueOrDefault(p) + m;
            compute += m * MacPj[p];
            bytes += l.StoredBytes;
        }
        return new EnergyTotals(bytes, macs, compute, bytes / 4.0 * DramPj32, bytes / 4.0 * SramPj32);
    }
}

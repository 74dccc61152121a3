using System.Text.Json.Nodes;

namespace DeepShrink.Format.Codecs;

/// <summary>
/// <c>sparse-f32</c>: pruned weights as relative indices plus raw float32 values.
/// </summary>
/// <remarks>
/// Han, Mao, Dally, "Deep Compression", ICLR 2016, sec. 2 (see <see cref="SparseLayout"/> for the gap
/// and filler rules). Every element whose bits are not +0.0 is stored (so -0.0 survives); fillers store
/// +0.0. Parameters: <c>gapBits</c>, <c>entries</c>, <c>huffmanGaps</c>. Parts: <c>gaps</c> (a symbol
/// stream of <c>gapBits</c>-bit symbols, optionally Huffman coded), <c>values</c> (float32 per entry).
/// </remarks>
public sealed class SparseF32Codec : ITensorCodec
{
    /// <summary>Codec name in the header.</summary>
    public const string CodecName = "sparse-f32";

    /// <summary>The codec instance.</summary>
    public static SparseF32Codec Instance { get; } = new();

    private SparseF32Codec() { }

    /// <inheritdoc />
    public string Name => CodecName;

    /// <summary>Encodes a pruned tensor.</summary>
    /// <param name="values">Row-major values; +0.0 elements are not stored.</param>
    /// <param name="shape">Tensor shape.</param>
    /// <param name="gapBits">Relative-index width, 1..16 (Deep Compression: 5 for fc, 8 for conv).</param>
    /// <param name="huffman">Huffman-code the gap stream.</param>
    public static EncodedTensor Encode(ReadOnlySpan<float> values, ReadOnlySpan<int> shape, int gapBits, bool huffman = false)
    {
        CodecParams.CheckShape(shape, values.Length, "values");
        var copy = values.ToArray();
        var positions = SparseLayout.Select(copy.Length, i => BitConverter.SingleToInt32Bits(copy[i]) != 0);
        var (gaps, sources) = SparseLayout.Build(positions, copy.Length, gapBits);
        var stored = new float[gaps.Length];
        for (int e = 0; e < stored.Length; e++) stored[e] = sources[e] < 0 ? 0f : copy[positions[sources[e]]];
        var p = new JsonObject { ["gapBits"] = gapBits, ["entries"] = gaps.Length, ["huffmanGaps"] = huffman };
        return new EncodedTensor(CodecName, shape, p,
        [
            new("gaps", SymbolStream.Write(gaps, gapBits, huffman)),
            new("values", RawIO.FloatsToBytes(stored)),
        ]);
    }

    /// <summary>The stored representation (gaps, positions, raw values) without expanding.</summary>
    public static SparseTensor Open(EncodedTensor t)
    {
        CodecParams.ExpectCodec(t, CodecName);
        CodecParams.ExpectKeys(t, "gapBits", "entries", "huffmanGaps");
        CodecParams.ExpectParts(t, "gaps", "values");
        var (gapBits, gaps, positions) = SparseLayout.Read(t, "huffmanGaps");
        var values = RawIO.BytesToFloats(CodecParams.Part(t, "values", 4L * gaps.Length).Span);
        return new SparseTensor(t.ShapeArray(), gapBits, gaps, positions, null, null, -1, values);
    }

    /// <inheritdoc />
    public float[] Decode(EncodedTensor t) => Open(t).ToDense();

    /// <inheritdoc />
    public DszTensorStats ComputeStats(EncodedTensor t)
    {
        var x = Open(t);
        long fillers = 0, nonzeros = 0;
        foreach (float v in x.RawValues)
        {
            if (BitConverter.SingleToInt32Bits(v) == 0) fillers++;
            if (v != 0f) nonzeros++;
        }
        long e = x.EntryCount, idxPlain = e * x.GapBits;
        long idxCoded = CodecParams.GetBool(t, "huffmanGaps") ? 8L * t.Parts["gaps"].Length : idxPlain;
        return new DszTensorStats(Name, t.ElementCount, nonzeros, e, fillers, 32, 32 * e, 32 * e, x.GapBits, idxPlain, idxCoded, 0, t.PayloadBytes);
    }
}

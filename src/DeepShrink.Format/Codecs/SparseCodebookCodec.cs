using System.Text.Json.Nodes;

namespace DeepShrink.Format.Codecs;

/// <summary>
/// <c>sparse-codebook</c>: the Deep Compression layout: relative indices plus codebook indices,
/// each stream optionally Huffman coded with its own table.
/// </summary>
/// <remarks>
/// Han, Mao, Dally, "Deep Compression", ICLR 2016, sec. 2-4 and fig. 2 (gap and filler rules in
/// <see cref="SparseLayout"/>). Fillers use the codebook slot <c>fillerIndex</c>, whose centroid must
/// be exactly +0.0; if the given centroids hold no +0.0, the encoder appends one. Elements whose
/// cluster value is +0.0 are not stored. Parameters: <c>gapBits</c>, <c>entries</c>, <c>bits</c>,
/// <c>k</c>, <c>fillerIndex</c>, <c>huffmanGaps</c>, <c>huffmanValues</c>. Parts: <c>gaps</c>,
/// <c>values</c> (symbol streams of <c>gapBits</c> and <c>bits</c> bits), <c>centroids</c> (k float32).
/// </remarks>
public sealed class SparseCodebookCodec : ITensorCodec
{
    /// <summary>Codec name in the header.</summary>
    public const string CodecName = "sparse-codebook";

    /// <summary>The codec instance.</summary>
    public static SparseCodebookCodec Instance { get; } = new();

    private SparseCodebookCodec() { }

    /// <inheritdoc />
    public string Name => CodecName;

    /// <summary>Encodes a pruned, weight-shared tensor given as cluster indices.</summary>
    /// <param name="indices">Row-major cluster index per element; a negative index marks a pruned (zero) weight.</param>
    /// <param name="shape">Tensor shape.</param>
    /// <param name="centroids">Shared values (1..65535 of them when none is +0.0, else up to 65536).</param>
    /// <param name="gapBits">Relative-index width, 1..16 (Deep Compression: 5 for fc, 8 for conv).</param>
    /// <param name="huffman">Huffman-code both streams (separate tables).</param>
    public static EncodedTensor Encode(ReadOnlySpan<int> indices, ReadOnlySpan<int> shape, ReadOnlySpan<float> centroids, int gapBits, bool huffman = false)
    {
        CodecParams.CheckShape(shape, indices.Length, "indices");
        Centroids.Check(centroids);
        var book = new List<float>(centroids.ToArray());
        int filler = book.FindIndex(c => BitConverter.SingleToInt32Bits(c) == 0);
        if (filler < 0)
        {
            if (book.Count == DszLimits.MaxAlphabetSize) throw new ArgumentException("no room for the +0.0 filler centroid: give at most 65535 centroids or include +0.0");
            filler = book.Count;
            book.Add(0f);
        }
        var idx = indices.ToArray();
        for (int i = 0; i < idx.Length; i++)
            if (idx[i] >= centroids.Length) throw new ArgumentOutOfRangeException(nameof(indices), $"index {idx[i]} at element {i} outside 0..{centroids.Length - 1}");
        var positions = SparseLayout.Select(idx.Length, i => idx[i] >= 0 && BitConverter.SingleToInt32Bits(book[idx[i]]) != 0);
        var (gaps, sources) = SparseLayout.Build(positions, idx.Length, gapBits);
        var codes = new ushort[gaps.Length];
        for (int e = 0; e < codes.Length; e++) codes[e] = (ushort)(sources[e] < 0 ? filler : idx[positions[sources[e]]]);
        int bits = CodecParams.BitsFor(book.Count);
        var p = new JsonObject
        {
            ["gapBits"] = gapBits, ["entries"] = gaps.Length, ["bits"] = bits, ["k"] = book.Count,
            ["fillerIndex"] = filler, ["huffmanGaps"] = huffman, ["huffmanValues"] = huffman,
        };
        return new EncodedTensor(CodecName, shape, p,
        [
            new("gaps", SymbolStream.Write(gaps, gapBits, huffman)),
            new("values", SymbolStream.Write(codes, bits, huffman)),
            new("centroids", RawIO.FloatsToBytes(book.ToArray())),
        ]);
    }

    /// <summary>Encodes quantised values: +0.0 elements are pruned, every other one must equal (bit-exactly) a centroid.</summary>
    public static EncodedTensor EncodeValues(ReadOnlySpan<float> values, ReadOnlySpan<int> shape, ReadOnlySpan<float> centroids, int gapBits, bool huffman = false)
    {
        Centroids.Check(centroids);
        var map = Centroids.BitMap(centroids);
        var indices = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
            indices[i] = BitConverter.SingleToInt32Bits(values[i]) == 0 ? -1 : Centroids.IndexOf(map, values[i], i);
        return Encode(indices, shape, centroids, gapBits, huffman);
    }

    /// <summary>The stored representation (gaps, positions, codes, centroids) without expanding.</summary>
    public static SparseTensor Open(EncodedTensor t)
    {
        CodecParams.ExpectCodec(t, CodecName);
        CodecParams.ExpectKeys(t, "gapBits", "entries", "bits", "k", "fillerIndex", "huffmanGaps", "huffmanValues");
        CodecParams.ExpectParts(t, "gaps", "values", "centroids");
        int bits = CodecParams.GetInt(t, "bits", 1, 16);
        int k = CodecParams.GetInt(t, "k", 1, 1 << bits);
        if (bits != CodecParams.BitsFor(k)) throw new DszFormatException($"codec '{CodecName}': bits {bits} does not match k {k}");
        int filler = CodecParams.GetInt(t, "fillerIndex", 0, k - 1);
        var centroids = Centroids.Read(t, k);
        if (BitConverter.SingleToInt32Bits(centroids[filler]) != 0)
            throw new DszFormatException($"codec '{CodecName}': filler centroid {filler} is not +0.0");
        var (gapBits, gaps, positions) = SparseLayout.Read(t, "huffmanGaps");
        var codes = SymbolStream.Read(t.Parts["values"], gaps.Length, bits, CodecParams.GetBool(t, "huffmanValues"), $"codec '{CodecName}' values");
        foreach (ushort c in codes)
            if (c >= k) throw new DszFormatException($"codec '{CodecName}': codebook index {c} outside 0..{k - 1}");
        return new SparseTensor(t.ShapeArray(), gapBits, gaps, positions, codes, centroids, filler, null);
    }

    /// <inheritdoc />
    public float[] Decode(EncodedTensor t) => Open(t).ToDense();

    /// <inheritdoc />
    public DszTensorStats ComputeStats(EncodedTensor t)
    {
        var x = Open(t);
        long fillers = 0, nonzeros = 0;
        for (int e = 0; e < x.EntryCount; e++)
        {
            if (x.Codes[e] == x.FillerIndex) fillers++;
            if (x.ValueAt(e) != 0f) nonzeros++;
        }
        int bits = CodecParams.GetInt(t, "bits", 1, 16);
        long n = x.EntryCount, valPlain = n * bits, idxPlain = n * x.GapBits;
        long valCoded = CodecParams.GetBool(t, "huffmanValues") ? 8L * t.Parts["values"].Length : valPlain;
        long idxCoded = CodecParams.GetBool(t, "huffmanGaps") ? 8L * t.Parts["gaps"].Length : idxPlain;
        return new DszTensorStats(Name, t.ElementCount, nonzeros, n, fillers, bits, valPlain, valCoded, x.GapBits, idxPlain, idxCoded,
            32L * x.Centroids.Length, t.PayloadBytes);
    }
}

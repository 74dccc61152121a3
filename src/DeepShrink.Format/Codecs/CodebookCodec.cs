using System.Text.Json.Nodes;

namespace DeepShrink.Format.Codecs;

/// <summary>
/// <c>codebook</c>: k-means weight sharing. Every element stores the index of its shared value.
/// </summary>
/// <remarks>
/// Han, Mao, Dally, "Deep Compression", ICLR 2016, sec. 3: with k clusters the indices need
/// <c>b = ceil(log2 k)</c> bits each, and the codebook adds <c>32 k</c> bits. Decoding is
/// <c>x[i] = centroids[index[i]]</c> (bit-exact). Parameters: <c>bits</c>, <c>k</c>, <c>huffman</c>.
/// Parts: <c>centroids</c> (k float32), <c>indices</c> (a symbol stream: fixed b-bit fields, or a
/// canonical Huffman table and codes when <c>huffman</c> is true).
/// </remarks>
public sealed class CodebookCodec : ITensorCodec
{
    /// <summary>Codec name in the header.</summary>
    public const string CodecName = "codebook";

    /// <summary>The codec instance.</summary>
    public static CodebookCodec Instance { get; } = new();

    private CodebookCodec() { }

    /// <inheritdoc />
    public string Name => CodecName;

    /// <summary>Encodes cluster indices (each in <c>0..centroids.Length-1</c>) and the centroids.</summary>
    public static EncodedTensor Encode(ReadOnlySpan<int> indices, ReadOnlySpan<int> shape, ReadOnlySpan<float> centroids, bool huffman = false)
    {
        CodecParams.CheckShape(shape, indices.Length, "indices");
        Centroids.Check(centroids);
        var symbols = new ushort[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            if ((uint)indices[i] >= (uint)centroids.Length)
                throw new ArgumentOutOfRangeException(nameof(indices), $"index {indices[i]} at element {i} outside 0..{centroids.Length - 1}");
            symbols[i] = (ushort)indices[i];
        }
        int bits = CodecParams.BitsFor(centroids.Length);
        var p = new JsonObject { ["bits"] = bits, ["k"] = centroids.Length, ["huffman"] = huffman };
        return new EncodedTensor(CodecName, shape, p,
        [
            new("centroids", RawIO.FloatsToBytes(centroids)),
            new("indices", SymbolStream.Write(symbols, bits, huffman)),
        ]);
    }

    /// <summary>Encodes quantised values: every element must equal (bit-exactly) one of the centroids.</summary>
    public static EncodedTensor EncodeValues(ReadOnlySpan<float> values, ReadOnlySpan<int> shape, ReadOnlySpan<float> centroids, bool huffman = false)
    {
        Centroids.Check(centroids);
        var map = Centroids.BitMap(centroids);
        var indices = new int[values.Length];
        for (int i = 0; i < values.Length; i++) indices[i] = Centroids.IndexOf(map, values[i], i);
        return Encode(indices, shape, centroids, huffman);
    }

    /// <summary>The indices and centroids without expanding (for codebook kernels).</summary>
    public static CodebookTensor Open(EncodedTensor t)
    {
        CodecParams.ExpectCodec(t, CodecName);
        CodecParams.ExpectKeys(t, "bits", "k", "huffman");
        CodecParams.ExpectParts(t, "centroids", "indices");
        int bits = CodecParams.GetInt(t, "bits", 1, 16);
        int k = CodecParams.GetInt(t, "k", 1, 1 << bits);
        if (bits != CodecParams.BitsFor(k)) throw new DszFormatException($"codec '{CodecName}': bits {bits} does not match k {k}");
        bool huffman = CodecParams.GetBool(t, "huffman");
        var centroids = Centroids.Read(t, k);
        var indices = SymbolStream.Read(t.Parts["indices"], t.ElementCount, bits, huffman, "codebook indices");
        foreach (ushort s in indices)
            if (s >= k) throw new DszFormatException($"codebook index {s} outside 0..{k - 1}");
        return new CodebookTensor(t.ShapeArray(), bits, huffman, indices, centroids);
    }

    /// <inheritdoc />
    public float[] Decode(EncodedTensor t) => Open(t).ToDense();

    /// <inheritdoc />
    public DszTensorStats ComputeStats(EncodedTensor t)
    {
        var x = Open(t);
        long n = t.ElementCount, plain = n * x.Bits;
        long coded = x.Huffman ? 8L * t.Parts["indices"].Length : plain;
        return new DszTensorStats(Name, n, CodecParams.CountNonzeros(x.ToDense()), n, 0, x.Bits, plain, coded, 0, 0, 0,
            32L * x.Centroids.Length, t.PayloadBytes);
    }
}

namespace DeepShrink.Format.Codecs;

/// <summary>A weight-shared tensor in compressed form: <c>x[i] = Centroids[Indices[i]]</c>.</summary>
public sealed class CodebookTensor
{
    private readonly int[] _shape;
    private readonly ushort[] _indices;
    private readonly float[] _centroids;

    internal CodebookTensor(int[] shape, int bits, bool huffman, ushort[] indices, float[] centroids)
    {
        _shape = shape; Bits = bits; Huffman = huffman; _indices = indices; _centroids = centroids;
    }

    /// <summary>Tensor shape.</summary>
    public IReadOnlyList<int> Shape => _shape;
    /// <summary>Bits per index before entropy coding.</summary>
    public int Bits { get; }
    /// <summary>Whether the index stream was Huffman coded.</summary>
    public bool Huffman { get; }
    /// <summary>Cluster index of every element, row-major.</summary>
    public ReadOnlySpan<ushort> Indices => _indices;
    /// <summary>Shared values.</summary>
    public ReadOnlySpan<float> Centroids => _centroids;

    /// <summary>Expands to float32 values (the codec's decode).</summary>
    public float[] ToDense()
    {
        var x = new float[_indices.Length];
        for (int i = 0; i < x.Length; i++) x[i] = _centroids[_indices[i]];
        return x;
    }
}

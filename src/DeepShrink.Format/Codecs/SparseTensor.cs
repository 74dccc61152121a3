namespace DeepShrink.Format.Codecs;

/// <summary>
/// A sparse tensor in its stored form: relative indices (gaps) plus either codebook indices and
/// centroids (<c>sparse-codebook</c>) or raw float32 values (<c>sparse-f32</c>), so kernels can run
/// sparse x codebook products without expanding the weights.
/// </summary>
/// <remarks>
/// Entries follow the flattened row-major order; entry <c>e</c> sits at
/// <c>Positions[e] = Positions[e-1] + Gaps[e] + 1</c>. The matrix view has <see cref="Rows"/> =
/// <c>Shape[0]</c> and <see cref="Cols"/> = product of the other dimensions (a conv kernel
/// <c>[out, in, kh, kw]</c> becomes <c>[out, in*kh*kw]</c>). <see cref="ToCsr"/> gives per-row entry
/// ranges and column indices.
/// </remarks>
public sealed class SparseTensor
{
    private readonly int[] _shape;
    private readonly ushort[] _gaps;
    private readonly int[] _positions;
    private readonly ushort[] _codes;
    private readonly float[] _centroids;
    private readonly float[] _rawValues;

    internal SparseTensor(int[] shape, int gapBits, ushort[] gaps, int[] positions, ushort[]? codes, float[]? centroids, int fillerIndex, float[]? rawValues)
    {
        _shape = shape; GapBits = gapBits; _gaps = gaps; _positions = positions;
        _codes = codes ?? []; _centroids = centroids ?? []; _rawValues = rawValues ?? [];
        IsCodebook = codes is not null;
        FillerIndex = fillerIndex;
        Rows = shape.Length >= 2 ? shape[0] : 1;
        long cols = 1;
        for (int d = shape.Length >= 2 ? 1 : 0; d < shape.Length; d++) cols *= shape[d];
        Cols = (int)cols;
    }

    /// <summary>Tensor shape.</summary>
    public IReadOnlyList<int> Shape => _shape;
    /// <summary>Rows of the matrix view (<c>Shape[0]</c>, or 1 for rank below 2).</summary>
    public int Rows { get; }
    /// <summary>Columns of the matrix view (product of the remaining dimensions).</summary>
    public int Cols { get; }
    /// <summary>Width of a relative index in bits.</summary>
    public int GapBits { get; }
    /// <summary>Number of stored entries, fillers included.</summary>
    public int EntryCount => _gaps.Length;
    /// <summary>Relative indices: zeros skipped before each entry (flattened row-major order).</summary>
    public ReadOnlySpan<ushort> Gaps => _gaps;
    /// <summary>Absolute flat position of each entry.</summary>
    public ReadOnlySpan<int> Positions => _positions;
    /// <summary>True for <c>sparse-codebook</c> (values are <see cref="Codes"/> into <see cref="Centroids"/>).</summary>
    public bool IsCodebook { get; }
    /// <summary>Cluster index of each entry (empty for <c>sparse-f32</c>).</summary>
    public ReadOnlySpan<ushort> Codes => _codes;
    /// <summary>Shared values (empty for <c>sparse-f32</c>).</summary>
    public ReadOnlySpan<float> Centroids => _centroids;
    /// <summary>Codebook slot whose centroid is +0.0, used by filler entries (-1 for <c>sparse-f32</c>).</summary>
    public int FillerIndex { get; }
    /// <summary>Raw value of each entry (empty for <c>sparse-codebook</c>).</summary>
    public ReadOnlySpan<float> RawValues => _rawValues;

    /// <summary>Value of entry <paramref name="entry"/>.</summary>
    public float ValueAt(int entry) => IsCodebook ? _centroids[_codes[entry]] : _rawValues[entry];

    /// <summary>Expands to dense float32 values (the codec's decode); unstored positions are +0.0.</summary>
    public float[] ToDense()
    {
        var x = new float[ShapeNumel()];
        for (int e = 0; e < _positions.Length; e++) x[_positions[e]] = ValueAt(e);
        return x;
    }

    /// <summary>
    /// Compressed-sparse-row view of the matrix <c>[Rows, Cols]</c>: entries of row <c>r</c> are
    /// <c>RowPtr[r] .. RowPtr[r+1]-1</c>, with column <c>Columns[j]</c> and entry number
    /// <c>Entries[j]</c> (an index into <see cref="Codes"/> / <see cref="RawValues"/>).
    /// </summary>
    /// <param name="dropZeros">Leave out entries whose value is zero (the fillers).</param>
    public SparseCsr ToCsr(bool dropZeros = true)
    {
        var rowPtr = new int[Rows + 1];
        var cols = new List<int>(_positions.Length);
        var entries = new List<int>(_positions.Length);
        int row = 0;
        for (int e = 0; e < _positions.Length; e++)
        {
            if (dropZeros && ValueAt(e) == 0f) continue;
            int r = _positions[e] / Cols;
            while (row < r) rowPtr[++row] = cols.Count;
            cols.Add(_positions[e] - r * Cols);
            entries.Add(e);
        }
        while (row < Rows) rowPtr[++row] = cols.Count;
        return new SparseCsr(Rows, Cols, rowPtr, cols.ToArray(), entries.ToArray());
    }

    private int ShapeNumel() => (int)EncodedTensor.CheckedElementCount(_shape);
}

/// <summary>CSR index arrays of a <see cref="SparseTensor"/> (see <see cref="SparseTensor.ToCsr"/>).</summary>
/// <param name="Rows">Rows of the matrix view.</param>
/// <param name="Cols">Columns of the matrix view.</param>
/// <param name="RowPtr">[Rows + 1] start of each row's entries.</param>
/// <param name="Columns">Column of each entry.</param>
/// <param name="Entries">Index of each entry into the sparse tensor's value arrays.</param>
public readonly record struct SparseCsr(int Rows, int Cols, int[] RowPtr, int[] Columns, int[] Entries);

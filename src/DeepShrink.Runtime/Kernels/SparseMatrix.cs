using DeepShrink.Format.Codecs;

namespace DeepShrink.Runtime.Kernels;

/// <summary>
/// A pruned (and optionally weight-shared) matrix kept compressed in memory, in a windowed
/// sliced-ELL layout built once at load time: rows are taken 16 at a time (a <i>chunk</i>, one SIMD
/// lane per row) and columns 32 at a time (a <i>window</i>); each (chunk, window) block stores, per
/// lane, that row's nonzeros in the window as 16-bit slots <c>column offset (5 bits) | code &lt;&lt; 8</c>.
/// Shorter rows are padded with a flagged zero slot, so a block is <c>max nnz</c> slots of 16 lanes.
/// </summary>
/// <remarks>
/// <para>Format: Kreutzer et al., "A unified sparse matrix data format for efficient general sparse
/// matrix-vector multiplication on modern processors with wide SIMD units" (SELL-C-sigma, SIAM J. Sci.
/// Comput. 2014), with C = 16 and column windows added so that batch-1 products need no memory
/// gathers: the 32 inputs of a window sit in two registers and each slot selects its input and its
/// shared weight with one two-register permute each, <c>y[lane] += centroid[code] * x[32 w + offset]</c>.
/// Codebooks follow Han, Mao and Dally, "Deep Compression" (ICLR 2016): codes index a table of at most
/// 256 shared values (k &lt;= 32 stays in registers); a matrix without a usable codebook stores one
/// float per slot instead.</para>
/// <para>Memory: 2 bytes per slot (+4 without a codebook), an int per block and the table; never a
/// dense float matrix. Batched products walk each row's slots (skipping padding) and multiply whole
/// rows of the input: <c>Y[r, :] += W[r, c] X[c, :]</c>.</para>
/// </remarks>
public sealed partial class SparseMatrix : IWeightMatrix
{
    internal const int Lanes = 16;
    internal const int Window = 32;
    internal const ushort PadFlag = 0x80;
    private const int OffsetMask = Window - 1;

    private readonly int[] _blockStart;   // [Chunks * Windows + 1] first slot of each (chunk, window) block
    private readonly ushort[] _slots;     // [slots * Lanes] offset | PadFlag | code << 8
    private readonly float[] _centroids;  // codebook (padded to >= 32 entries) or empty
    private readonly float[] _values;     // [slots * Lanes] per-slot values when there is no codebook, else empty

    private SparseMatrix(int rows, int cols, long nonzeros, int[] blockStart, ushort[] slots, float[] centroids, float[] values, int codebookSize)
    {
        Rows = rows; Cols = cols; Nonzeros = nonzeros; _blockStart = blockStart; _slots = slots;
        _centroids = centroids; _values = values; CodebookSize = codebookSize;
        Chunks = (rows + Lanes - 1) / Lanes;
        Windows = Math.Max(1, (cols + Window - 1) / Window);
    }

    /// <inheritdoc/>
    public int Rows { get; }
    /// <inheritdoc/>
    public int Cols { get; }
    /// <summary>Stored nonzero weights (padding excluded).</summary>
    public long Nonzeros { get; }
    /// <summary>Shared values in the codebook (including the zero used by padding), or 0 when values are stored per slot.</summary>
    public int CodebookSize { get; }
    /// <summary>Slots including padding (a multiple of 16).</summary>
    public long SlotCount => _slots.Length;
    /// <summary>Groups of 16 rows.</summary>
    public int Chunks { get; }
    /// <summary>Groups of 32 columns.</summary>
    public int Windows { get; }
    /// <inheritdoc/>
    public string Kind => CodebookSize > 0 ? "sparse-codebook" : "sparse-f32";
    /// <inheritdoc/>
    public long StorageBytes => 2L * _slots.Length + 4L * (_blockStart.Length + _centroids.Length + _values.Length);
    /// <inheritdoc/>
    public long MacsPerColumn => Nonzeros;

    /// <summary>Builds the layout from a stored sparse tensor (rows <paramref name="rowStart"/> .. +<paramref name="rowCount"/> of its matrix view).</summary>
    /// <remarks>Entries whose value is zero (the format's filler entries) are left out.</remarks>
    public static SparseMatrix FromSparseTensor(SparseTensor tensor, int rowStart = 0, int rowCount = -1)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (rowCount < 0) rowCount = tensor.Rows - rowStart;
        if (rowStart < 0 || rowStart + rowCount > tensor.Rows)
            throw new ArgumentOutOfRangeException(nameof(rowStart), $"rows {rowStart}..{rowStart + rowCount - 1} outside the {tensor.Rows} rows");
        var csr = tensor.ToCsr(dropZeros: true);
        int e0 = csr.RowPtr[rowStart], e1 = csr.RowPtr[rowStart + rowCount];
        var rowPtr = new int[rowCount + 1];
        for (int r = 0; r <= rowCount; r++) rowPtr[r] = csr.RowPtr[rowStart + r] - e0;
        var columns = csr.Columns.AsSpan(e0, e1 - e0);
        if (tensor.IsCodebook)
        {
            var codes = new int[e1 - e0];
            for (int j = 0; j < codes.Length; j++) codes[j] = tensor.Codes[csr.Entries[e0 + j]];
            return Build(rowCount, tensor.Cols, rowPtr, columns, codes, tensor.Centroids, default);
        }
        var values = new float[e1 - e0];
        for (int j = 0; j < values.Length; j++) values[j] = tensor.RawValues[csr.Entries[e0 + j]];
        return Build(rowCount, tensor.Cols, rowPtr, columns, default, default, values);
    }

    /// <summary>Keeps the nonzero elements of a dense row-major matrix (one float per slot).</summary>
    /// <param name="weights">[rows, cols]</param>
    public static SparseMatrix FromDense(ReadOnlySpan<float> weights, int rows, int cols)
    {
        CheckDims(rows, cols, weights.Length);
        var w = weights.ToArray();
        var (rowPtr, columns) = CsrOf(rows, cols, i => w[i] != 0f);
        var values = new float[columns.Length];
        for (int r = 0, j = 0; r < rows; r++)
            for (; j < rowPtr[r + 1]; j++) values[j] = w[r * cols + columns[j]];
        return Build(rows, cols, rowPtr, columns, default, default, values);
    }

    /// <summary>A weight-shared matrix: element i is <c>centroids[codes[i]]</c>, or pruned when <c>codes[i] &lt; 0</c>.</summary>
    /// <param name="codes">[rows, cols] cluster index per element, negative for pruned weights.</param>
    /// <param name="centroids">[k] shared values.</param>
    public static SparseMatrix FromCodebook(ReadOnlySpan<int> codes, ReadOnlySpan<float> centroids, int rows, int cols)
    {
        CheckDims(rows, cols, codes.Length);
        foreach (int c in codes)
            if (c >= centroids.Length) throw new ArgumentOutOfRangeException(nameof(codes), $"code {c} outside 0..{centroids.Length - 1}");
        var codeArr = codes.ToArray();
        var cents = centroids.ToArray();
        var (rowPtr, columns) = CsrOf(rows, cols, i => codeArr[i] >= 0 && cents[codeArr[i]] != 0f);
        var kept = new int[columns.Length];
        for (int r = 0, j = 0; r < rows; r++)
            for (; j < rowPtr[r + 1]; j++) kept[j] = codeArr[r * cols + columns[j]];
        return Build(rows, cols, rowPtr, columns, kept, cents, default);
    }

    /// <summary>Expands to a dense row-major matrix (for tests and reference checks).</summary>
    public float[] ToDense()
    {
        var w = new float[(long)Rows * Cols];
        for (int c = 0; c < Chunks; c++)
            for (int win = 0; win < Windows; win++)
            {
                int b = c * Windows + win;
                for (int s = _blockStart[b]; s < _blockStart[b + 1]; s++)
                    for (int lane = 0; lane < Lanes; lane++)
                    {
                        int k = s * Lanes + lane;
                        ushort v = _slots[k];
                        if ((v & PadFlag) != 0) continue;
                        w[(long)(c * Lanes + lane) * Cols + win * Window + (v & OffsetMask)] = SlotValue(k);
                    }
            }
        return w;
    }

    private float SlotValue(int slot) => CodebookSize > 0 ? _centroids[_slots[slot] >> 8] : _values[slot];

    private static void CheckDims(int rows, int cols, int length)
    {
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"matrix [{rows}, {cols}] has a negative dimension");
        if (length != (long)rows * cols) throw new ArgumentException($"{length} elements given, [{rows}, {cols}] needs {(long)rows * cols}");
    }

    private static (int[] RowPtr, int[] Columns) CsrOf(int rows, int cols, Func<int, bool> keep)
    {
        var rowPtr = new int[rows + 1];
        var columns = new List<int>();
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++) if (keep(r * cols + c)) columns.Add(c);
            rowPtr[r + 1] = columns.Count;
        }
        return (rowPtr, columns.ToArray());
    }
}

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Signed 8-bit weights W[n, k] (one output per row, as in a Linear layer's W[out, in]) packed once
/// for <see cref="Int8Gemm"/>, together with the per-row sums needed for zero-point corrections.
/// </summary>
/// <remarks>
/// Layout: panels of <see cref="PanelWidth"/> = 16 rows of W (16 output columns of C). Inside a panel,
/// k is cut into groups of 4 bytes; group q of panel p is 64 contiguous bytes, byte <c>col * 4 + t</c>
/// holding W[16p + col, 4q + t]. One group is exactly the s8 operand of a 512-bit <c>vpdpbusd</c>, or
/// two 256-bit ones (columns 0-7 and 8-15). Columns past n and k past its end are zero, so padding
/// never changes a dot product.
/// </remarks>
public sealed class Int8PackedWeights
{
    /// <summary>Output columns per packed panel.</summary>
    public const int PanelWidth = 16;

    /// <summary>Bytes of k per group (the width of one <c>vpdpbusd</c> dot product).</summary>
    public const int GroupBytes = 4;

    private readonly sbyte[] _data;
    private readonly int[] _columnSums;

    private Int8PackedWeights(int n, int k, sbyte[] data, int[] columnSums)
    {
        N = n; K = k; _data = data; _columnSums = columnSums;
    }

    /// <summary>Number of output columns (rows of W).</summary>
    public int N { get; }

    /// <summary>Reduction length (columns of W).</summary>
    public int K { get; }

    /// <summary>Number of 4-byte k groups, ceil(K / 4).</summary>
    public int KGroups => (K + GroupBytes - 1) / GroupBytes;

    /// <summary>Number of 16-column panels, ceil(N / 16).</summary>
    public int Panels => (N + PanelWidth - 1) / PanelWidth;

    /// <summary>Sum over k of W[j, :] for each output column j (length N); used for the activation zero-point correction.</summary>
    public ReadOnlySpan<int> ColumnSums => _columnSums;

    /// <summary>The packed bytes (length Panels * KGroups * 64).</summary>
    public ReadOnlySpan<sbyte> Data => _data;

    internal sbyte[] DataArray => _data;

    /// <summary>W[n, k] as plain rows again (the inverse of <see cref="Pack"/>).</summary>
    public sbyte[] Unpack()
    {
        var w = new sbyte[(long)N * K];
        int groups = KGroups;
        for (int j = 0; j < N; j++)
            for (int p = 0; p < K; p++)
                w[(long)j * K + p] = _data[((j / PanelWidth * groups + p / GroupBytes) * PanelWidth + j % PanelWidth) * GroupBytes + p % GroupBytes];
        return w;
    }

    /// <summary>Packs W[n, k] (row stride <paramref name="ldw"/>) into the panel layout.</summary>
    public static Int8PackedWeights Pack(int n, int k, ReadOnlySpan<sbyte> w, int ldw) // w: [n, k]
    {
        Int8Gemm.ValidateSizes(1, n, k);
        if (ldw < Math.Max(1, k)) throw new ArgumentException($"ldw={ldw} < k={k}", nameof(ldw));
        if (n > 0 && k > 0 && w.Length < (long)(n - 1) * ldw + k) throw new ArgumentException("W buffer too small", nameof(w));
        int groups = (k + GroupBytes - 1) / GroupBytes, panels = (n + PanelWidth - 1) / PanelWidth;
        var data = new sbyte[(long)panels * groups * PanelWidth * GroupBytes];
        PackInto(n, k, w, ldw, data);
        var sums = new int[n];
        ColumnSumsOf(n, k, w, ldw, sums);
        return new Int8PackedWeights(n, k, data, sums);
    }

    /// <summary>Writes the packed layout of W[n, k] into <paramref name="destination"/> (fully overwritten).</summary>
    internal static void PackInto(int n, int k, ReadOnlySpan<sbyte> w, int ldw, Span<sbyte> destination)
    {
        int groups = (k + GroupBytes - 1) / GroupBytes, panels = (n + PanelWidth - 1) / PanelWidth;
        destination.Slice(0, panels * groups * PanelWidth * GroupBytes).Clear();
        for (int j = 0; j < n; j++)
        {
            int panel = j / PanelWidth, col = j % PanelWidth;
            var row = w.Slice(j * ldw, k);
            int baseIdx = panel * groups * PanelWidth * GroupBytes + col * GroupBytes;
            for (int p = 0; p < k; p++)
                destination[baseIdx + (p >> 2) * PanelWidth * GroupBytes + (p & 3)] = row[p];
        }
    }

    /// <summary>colSums[j] = sum_p W[j, p].</summary>
    public static void ColumnSumsOf(int n, int k, ReadOnlySpan<sbyte> w, int ldw, Span<int> colSums) // w: [n, k], colSums: [n]
    {
        if (colSums.Length < n) throw new ArgumentException("colSums shorter than n", nameof(colSums));
        for (int j = 0; j < n; j++)
        {
            int s = 0;
            foreach (sbyte v in w.Slice(j * ldw, k)) s += v;
            colSums[j] = s;
        }
    }
}

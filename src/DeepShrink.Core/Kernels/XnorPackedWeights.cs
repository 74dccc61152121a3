namespace DeepShrink.Core.Kernels;

/// <summary>
/// Binary weights W[n, k] (bit rows from <see cref="BinaryPack"/>) interleaved for <see cref="XnorGemm"/>:
/// panels of 8 output columns, layout [panel][word][8] so that one 512-bit load holds word w of 8 columns.
/// Padding bits past k and columns past n are 0.
/// </summary>
public sealed class XnorPackedWeights
{
    /// <summary>Output columns per panel (64-bit lanes of a 512-bit vector).</summary>
    public const int PanelWidth = 8;

    private readonly ulong[] _data;

    private XnorPackedWeights(int n, int k, ulong[] data) { N = n; K = k; _data = data; }

    /// <summary>Output columns (rows of W).</summary>
    public int N { get; }

    /// <summary>Reduction length in bits.</summary>
    public int K { get; }

    /// <summary>64-bit words per row, ceil(K / 64).</summary>
    public int Words => BinaryPack.WordsFor(K);

    /// <summary>Panels of 8 columns, ceil(N / 8).</summary>
    public int Panels => (N + PanelWidth - 1) / PanelWidth;

    /// <summary>The interleaved words (length Panels * Words * 8).</summary>
    public ReadOnlySpan<ulong> Data => _data;

    internal ulong[] DataArray => _data;

    /// <summary>Interleaves packed rows w[n, ldw] (ldw &gt;= WordsFor(k) words per row); padding bits are cleared.</summary>
    public static XnorPackedWeights Pack(int n, int k, ReadOnlySpan<ulong> w, int ldw) // w: [n, words]
    {
        if (n < 0 || k < 0) throw new ArgumentException($"negative size n={n} k={k}");
        int words = BinaryPack.WordsFor(k);
        if (ldw < Math.Max(1, words)) throw new ArgumentException($"ldw={ldw} < words={words}", nameof(ldw));
        if (n > 0 && words > 0 && w.Length < (long)(n - 1) * ldw + words) throw new ArgumentException("W buffer too small", nameof(w));
        int panels = (n + PanelWidth - 1) / PanelWidth;
        var data = new ulong[(long)panels * words * PanelWidth];
        for (int j = 0; j < n; j++)
        {
            int baseIdx = j / PanelWidth * words * PanelWidth + j % PanelWidth;
            for (int q = 0; q < words; q++) data[baseIdx + q * PanelWidth] = w[j * ldw + q] & BinaryPack.ValidMask(k, q);
        }
        return new XnorPackedWeights(n, k, data);
    }

    /// <summary>The same weights with columns reordered: column p of the result is column order[p] of this (order a permutation of 0..K-1).</summary>
    public XnorPackedWeights PermuteColumns(ReadOnlySpan<int> order)
    {
        if (order.Length != K) throw new ArgumentException($"order has {order.Length} entries, expected {K}", nameof(order));
        var seen = new bool[K];
        foreach (int p in order)
        {
            if ((uint)p >= (uint)K || seen[p]) throw new ArgumentException("order is not a permutation of the columns", nameof(order));
            seen[p] = true;
        }
        int words = Words;
        var data = new ulong[_data.Length];
        for (int j = 0; j < N; j++)
        {
            int baseIdx = j / PanelWidth * words * PanelWidth + j % PanelWidth;
            for (int p = 0; p < K; p++)
            {
                int q = order[p];
                if ((_data[baseIdx + (q >> 6) * PanelWidth] >> (q & 63) & 1) != 0) data[baseIdx + (p >> 6) * PanelWidth] |= 1UL << (p & 63);
            }
        }
        return new XnorPackedWeights(N, K, data);
    }

    /// <summary>Packs the signs of float weights W[n, k] directly (see <see cref="BinaryPack.PackRows"/>).</summary>
    public static XnorPackedWeights FromSigns(int n, int k, ReadOnlySpan<float> w) // [n, k]
    {
        int words = BinaryPack.WordsFor(k);
        var bits = new ulong[Math.Max(1, n * words)];
        BinaryPack.PackRows(n, k, w, Math.Max(1, k), bits);
        return Pack(n, k, bits, Math.Max(1, words));
    }
}

using System.Buffers;
using DeepShrink.Core.Kernels;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Runtime.Kernels;

/// <summary>
/// Binary weights W[j, p] = alpha[j] s[j, p] (s = +-1, bit-packed) with float inputs (BinaryConnect):
/// <see cref="BinaryWeightGemm"/> adds or subtracts each input, no multiplications.
/// </summary>
/// <remarks>Courbariaux et al. 2015; whether it beats dense float is decided by timing at load time.</remarks>
public sealed class BinaryWeightMatrix : IWeightMatrix
{
    private readonly ulong[] _bits;  // [Rows, words]
    private readonly float[] _alpha; // [Rows] or [1]

    /// <summary>Packs <paramref name="t"/> viewed as [rows, cols] (one alpha per tensor or per row).</summary>
    public BinaryWeightMatrix(BinaryTensor t, int rows, int cols) { (_bits, _alpha) = BinaryRows.From(t, rows, cols); Rows = rows; Cols = cols; }

    /// <inheritdoc/>
    public int Rows { get; }
    /// <inheritdoc/>
    public int Cols { get; }
    /// <inheritdoc/>
    public string Kind => "binary";
    /// <inheritdoc/>
    public long StorageBytes => 8L * _bits.Length + 4L * _alpha.Length;
    /// <inheritdoc/>
    public long MacsPerColumn => (long)Rows * Cols;

    /// <inheritdoc/>
    public void MultiplyRows(ReadOnlySpan<float> x, int batch, Span<float> y, int threads)
    {
        MatrixChecks.Rows(this, x.Length, batch, y.Length, threads);
        if (batch == 0 || Rows == 0) return;
        BinaryWeightGemm.Multiply(batch, Rows, Cols, x, Math.Max(1, Cols), _bits, Math.Max(1, BinaryPack.WordsFor(Cols)), _alpha, default, y, Rows, threads);
    }

    /// <inheritdoc/>
    public void MultiplyColumns(ReadOnlySpan<float> x, int n, Span<float> y, int threads) => Transpose.ColumnsViaRows(this, x, n, y, threads);
}

/// <summary>
/// Binary weights with binary inputs (BNN, XNOR-Net): inputs in {-1, +1} (0 allowed for a convolution's
/// zero padding) are bit-packed per call and multiplied with <see cref="XnorGemm"/> (XOR + popcount);
/// y[i, j] = alpha[j] dot(x[i], s[j]).
/// </summary>
/// <remarks>
/// Rastegari et al. 2016, sec. 3.2 (the K factor is applied by the node's input transform afterwards).
/// A 0 input has no bit: with A (bit = x &gt;= 0) and A' (bit = x &gt; 0) a zero counts +s in one product and
/// -s in the other, so the exact dot product is (C(A) + C(A')) / 2; the second product runs only
/// when the batch has zeros. Inputs other than -1, 0, +1 are an error.
/// </remarks>
public sealed class XnorMatrix : IWeightMatrix
{
    private readonly XnorPackedWeights _w;
    private readonly float[] _alpha; // [Rows] or [1]

    /// <summary>Packs <paramref name="t"/> viewed as [rows, cols] (one alpha per tensor or per row).</summary>
    public XnorMatrix(BinaryTensor t, int rows, int cols)
    {
        var (bits, alpha) = BinaryRows.From(t, rows, cols);
        _w = XnorPackedWeights.Pack(rows, cols, bits, Math.Max(1, BinaryPack.WordsFor(cols)));
        _alpha = alpha;
    }

    /// <inheritdoc/>
    public int Rows => _w.N;
    /// <inheritdoc/>
    public int Cols => _w.K;
    /// <inheritdoc/>
    public string Kind => "xnor";

    /// <summary>The packed weights (for the convolution path, <see cref="BinaryIm2Row"/>).</summary>
    internal XnorPackedWeights Packed => _w;

    /// <summary>alpha[j] of each row, or one for all.</summary>
    internal ReadOnlySpan<float> Alpha => _alpha;
    /// <inheritdoc/>
    public long StorageBytes => 8L * _w.Data.Length + 4L * _alpha.Length;
    /// <inheritdoc/>
    public long MacsPerColumn => (long)Rows * Cols;

    /// <inheritdoc/>
    public void MultiplyRows(ReadOnlySpan<float> x, int batch, Span<float> y, int threads)
    {
        MatrixChecks.Rows(this, x.Length, batch, y.Length, threads);
        if (batch == 0 || Rows == 0) return;
        int words = Math.Max(1, _w.Words), n = batch * Rows;
        ulong[] geq = ArrayPool<ulong>.Shared.Rent(batch * words), gt = ArrayPool<ulong>.Shared.Rent(batch * words);
        int[] c = ArrayPool<int>.Shared.Rent(n), c2 = ArrayPool<int>.Shared.Rent(n);
        try
        {
            bool zeros = Pack(x, batch, Cols, geq, gt, words);
            ExactDots(batch, geq, zeros ? gt.AsSpan(0, batch * words) : ReadOnlySpan<ulong>.Empty, words, _w, c, c2, threads);
            for (int i = 0; i < batch; i++)
                for (int j = 0; j < Rows; j++)
                    y[i * Rows + j] = _alpha[_alpha.Length == 1 ? 0 : j] * c[i * Rows + j];
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(geq); ArrayPool<ulong>.Shared.Return(gt);
            ArrayPool<int>.Shared.Return(c); ArrayPool<int>.Shared.Return(c2);
        }
    }

    /// <summary>
    /// c[m, w.N] = exact dot products of m rows of {-1, 0, +1} inputs with the weights, given as x &gt;= 0 bits
    /// (<paramref name="geq"/>) and, when some input is 0, x &gt; 0 bits (<paramref name="gt"/>; empty otherwise):
    /// the mean of the two XNOR products (<paramref name="scratch"/> holds the second).
    /// </summary>
    internal static void ExactDots(int m, ReadOnlySpan<ulong> geq, ReadOnlySpan<ulong> gt, int words, XnorPackedWeights w,
        Span<int> c, Span<int> scratch, int threads)
    {
        XnorGemm.Multiply(m, geq, words, w, c, w.N, threads);
        if (gt.IsEmpty) return;
        XnorGemm.Multiply(m, gt, words, w, scratch, w.N, threads);
        for (int i = 0; i < m * w.N; i++) c[i] = (c[i] + scratch[i]) / 2; // both counts have the parity of the nonzero part
    }

    /// <inheritdoc/>
    public void MultiplyColumns(ReadOnlySpan<float> x, int n, Span<float> y, int threads) => Transpose.ColumnsViaRows(this, x, n, y, threads);

    /// <summary>Packs rows of x: <paramref name="geq"/> bit = x &gt;= 0, <paramref name="gt"/> bit = x &gt; 0; true when some x is 0.</summary>
    private static bool Pack(ReadOnlySpan<float> x, int rows, int k, Span<ulong> geq, Span<ulong> gt, int words) // x: [rows, k], bits: [rows, words]
    {
        bool zeros = false, bad = false;
        for (int r = 0; r < rows; r++)
            for (int w = 0; w < words; w++)
            {
                int start = 64 * w;
                var t = BinaryPack.Ternary(x.Slice(r * k + start, Math.Clamp(k - start, 0, 64)));
                zeros |= t.Zeros;
                bad |= t.Bad;
                geq[r * words + w] = t.Geq;
                gt[r * words + w] = t.Gt;
            }
        if (bad) throw new InvalidOperationException("the XNOR kernel needs inputs in {-1, 0, +1} (a binary input transform must precede it)");
        return zeros;
    }
}

/// <summary>Bit rows and per-row scales of a binary tensor viewed as a matrix.</summary>
internal static class BinaryRows
{
    /// <summary>bits[j, words] (bit p = 1 for +alpha) and alpha ([rows] for axis 0, [1] per tensor).</summary>
    public static (ulong[] Bits, float[] Alpha) From(BinaryTensor t, int rows, int cols)
    {
        if (t.Axis is not (null or 0)) throw new ArgumentException($"binary weights with scales along axis {t.Axis} have no row form");
        int words = BinaryPack.WordsFor(cols);
        var bits = new ulong[Math.Max(1, rows * words)];
        for (int j = 0; j < rows; j++)
            for (int p = 0; p < cols; p++)
                if (t.IsPositive((long)j * cols + p)) bits[j * words + (p >> 6)] |= 1UL << (p & 63);
        var alpha = t.Scales.ToArray();
        if (alpha.Length != 1 && alpha.Length != rows) throw new ArgumentException($"binary weights have {alpha.Length} scales, expected 1 or {rows}");
        return (bits, alpha);
    }
}

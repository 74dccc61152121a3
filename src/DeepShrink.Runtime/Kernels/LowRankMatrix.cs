using System.Buffers;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Runtime.Kernels;

/// <summary>
/// A low-rank matrix kept as its factors, <c>W [M, N] = U [M, R] V [R, N]</c>, multiplied in two
/// steps (<c>y = U (V x)</c>) so a product costs <c>R (M + N)</c> multiply-adds instead of <c>M N</c>.
/// </summary>
/// <remarks>
/// Truncated-SVD layers (Denton et al., "Exploiting Linear Structure Within Convolutional Networks for
/// Efficient Evaluation", NIPS 2014; Cheng et al.'s survey, sec. 3). The result equals the decoded
/// product up to float rounding (the codec's decode sums in a fixed order without FMA).
/// </remarks>
public sealed class LowRankMatrix : IWeightMatrix
{
    private readonly DenseMatrix _u; // [Rows, Rank]
    private readonly DenseMatrix _v; // [Rank, Cols]

    /// <summary>Wraps the factors (no copy).</summary>
    /// <param name="u">[rows, rank]</param>
    /// <param name="v">[rank, cols]</param>
    public LowRankMatrix(float[] u, float[] v, int rows, int rank, int cols)
    {
        _u = new DenseMatrix(u, rows, rank);
        _v = new DenseMatrix(v, rank, cols);
        Rank = rank;
    }

    /// <summary>The factors of a stored low-rank tensor (matrix view <c>[Shape[0], rest]</c>).</summary>
    public static LowRankMatrix FromTensor(LowRankTensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        return new LowRankMatrix(t.U.ToArray(), t.V.ToArray(), t.M, t.Rank, t.N);
    }

    /// <summary>Inner dimension R.</summary>
    public int Rank { get; }
    /// <inheritdoc/>
    public int Rows => _u.Rows;
    /// <inheritdoc/>
    public int Cols => _v.Cols;
    /// <inheritdoc/>
    public string Kind => "lowrank";
    /// <inheritdoc/>
    public long StorageBytes => _u.StorageBytes + _v.StorageBytes;
    /// <inheritdoc/>
    public long MacsPerColumn => _u.MacsPerColumn + _v.MacsPerColumn;

    /// <inheritdoc/>
    public void MultiplyRows(ReadOnlySpan<float> x, int batch, Span<float> y, int threads)
    {
        MatrixChecks.Rows(this, x.Length, batch, y.Length, threads);
        var t = ArrayPool<float>.Shared.Rent(Math.Max(1, batch * Rank)); // [batch, Rank]
        try
        {
            _v.MultiplyRows(x, batch, t, threads);
            _u.MultiplyRows(t, batch, y, threads);
        }
        finally { ArrayPool<float>.Shared.Return(t); }
    }

    /// <inheritdoc/>
    public void MultiplyColumns(ReadOnlySpan<float> x, int n, Span<float> y, int threads)
    {
        MatrixChecks.Columns(this, x.Length, n, y.Length, threads);
        var t = ArrayPool<float>.Shared.Rent(Math.Max(1, Rank * n)); // [Rank, n]
        try
        {
            _v.MultiplyColumns(x, n, t, threads);
            _u.MultiplyColumns(t, n, y, threads);
        }
        finally { ArrayPool<float>.Shared.Return(t); }
    }
}

namespace DeepShrink.Runtime.Kernels;

/// <summary>
/// A weight matrix <c>W [Rows, Cols]</c> held in some storage form (dense, sparse with a codebook,
/// low-rank factors) with the two products inference needs. Implementations are immutable and safe
/// to call from several threads at once; scratch is per call.
/// </summary>
/// <remarks>
/// A fully connected layer computes <c>y = x W^T</c> (<see cref="MultiplyRows"/>); a convolution
/// computes <c>Y = W X</c> over its im2col matrix (<see cref="MultiplyColumns"/>). A conv kernel
/// <c>[O, C, kh, kw]</c> is the matrix <c>[O, C kh kw]</c>.
/// </remarks>
public interface IWeightMatrix
{
    /// <summary>Rows (output features or channels).</summary>
    int Rows { get; }

    /// <summary>Columns (input features, or C kh kw for a convolution).</summary>
    int Cols { get; }

    /// <summary>Storage kind: <c>dense</c>, <c>sparse-codebook</c>, <c>sparse-f32</c> or <c>lowrank</c>.</summary>
    string Kind { get; }

    /// <summary>Bytes the weights occupy in memory (all arrays the kernels read).</summary>
    long StorageBytes { get; }

    /// <summary>Multiply-adds per product column: nonzeros for sparse, <c>Rows Cols</c> for dense.</summary>
    long MacsPerColumn { get; }

    /// <summary>Fully connected form: <c>y[b, r] = sum_c W[r, c] x[b, c]</c>.</summary>
    /// <param name="x">[batch, Cols]</param>
    /// <param name="batch">Rows of <paramref name="x"/>.</param>
    /// <param name="y">[batch, Rows], overwritten.</param>
    /// <param name="threads">Most threads to use (at least 1).</param>
    void MultiplyRows(ReadOnlySpan<float> x, int batch, Span<float> y, int threads);

    /// <summary>Convolution form: <c>Y[r, j] = sum_c W[r, c] X[c, j]</c>.</summary>
    /// <param name="x">[Cols, n]</param>
    /// <param name="n">Columns of <paramref name="x"/>.</param>
    /// <param name="y">[Rows, n], overwritten.</param>
    /// <param name="threads">Most threads to use (at least 1).</param>
    void MultiplyColumns(ReadOnlySpan<float> x, int n, Span<float> y, int threads);
}

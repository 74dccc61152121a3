using DeepShrink.Core;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Compression.Structured;

/// <summary>
/// Converts a trained dense weight matrix into the nearest (block-)circulant one in the Frobenius norm,
/// the starting point of a circulant or block-circulant layer before fine-tuning.
/// </summary>
/// <remarks>
/// With W [p b, q b] cut into b x b blocks W_ij and D = diag(d) the layer's fixed sign flips, the
/// problem min_w sum_ij ||W_ij - C(w_ij) D_j||_F^2 separates by block, and since D_j is orthogonal
/// (d = +-1), ||W_ij - C(w) D_j|| = ||W_ij D_j - C(w)||. A circulant matrix is constant along its wrapped
/// diagonals (C(w)[r, s] = w[(r - s) mod b]), so the minimiser is the mean of each wrapped diagonal:
/// w_ij[k] = (1/b) sum_r W[i b + r, j b + ((r - k) mod b)] d[j b + ((r - k) mod b)]
/// (orthogonal projection onto the subspace of circulant matrices; cf. Cheng et al. 2015 and
/// Ding et al. 2017, CirCNN, whose layers use the same first-column parameterisation). The residual
/// is orthogonal to every block-circulant matrix.
/// </remarks>
public static class CirculantProjection
{
    /// <summary>
    /// The defining vectors [p, q, b] of the block-circulant matrix (times D) nearest to
    /// <paramref name="weight"/> [out, in]; <paramref name="blockSize"/> must divide both dimensions. A full
    /// circulant projection of a square matrix is <paramref name="blockSize"/> = n.
    /// </summary>
    public static Tensor Project(Tensor weight, int blockSize, Tensor? signs = null)
    {
        if (weight.Rank != 2) throw new ArgumentException($"circulant projection: weight must be 2-D [out, in], got {ShapeUtil.Format(weight.Shape)}");
        var shape = BlockCirculantShape.ForMatrix(weight.Shape[0], weight.Shape[1], blockSize);
        if (signs is not null && (signs.Rank != 1 || signs.Shape[0] != shape.In))
            throw new ArgumentException($"circulant projection: signs must be [{shape.In}], got {ShapeUtil.Format(signs.Shape)}");
        var blocks = new float[shape.Parameters];
        Project(shape, weight.ToArray(), signs is null ? default : signs.ToArray(), blocks);
        return new Tensor(blocks, shape.OutBlocks, shape.InBlocks, shape.BlockSize);
    }

    /// <summary>Span form of <see cref="Project(Tensor, int, Tensor?)"/>.</summary>
    public static void Project(BlockCirculantShape shape,
        ReadOnlySpan<float> weight, // [p b, q b]
        ReadOnlySpan<float> signs,  // [q b], or empty
        Span<float> blocks)         // [p, q, b]
    {
        int p = shape.OutBlocks, q = shape.InBlocks, b = shape.BlockSize, inF = shape.In;
        if (weight.Length != shape.Out * inF) throw new ArgumentException($"circulant projection: weight has {weight.Length} elements, expected {shape.Out} x {inF}");
        if (!signs.IsEmpty && signs.Length != inF) throw new ArgumentException($"circulant projection: signs has {signs.Length} elements, expected {inF}");
        if (blocks.Length != shape.Parameters) throw new ArgumentException($"circulant projection: blocks has {blocks.Length} elements, expected {shape.Parameters}");
        for (int i = 0; i < p; i++)
            for (int j = 0; j < q; j++)
                for (int k = 0; k < b; k++)
                {
                    double s = 0;
                    for (int r = 0; r < b; r++)
                    {
                        int col = j * b + (r - k + b) % b;
                        s += (double)weight[(i * b + r) * inF + col] * (signs.IsEmpty ? 1f : signs[col]);
                    }
                    blocks[(i * q + j) * b + k] = (float)(s / b);
                }
    }

    /// <summary>
    /// The defining vectors [p, q, b] nearest to a weight [out, in] whose sides are not multiples of b: the
    /// matrix is seen as the top-left corner of the p b x q b block grid (the layer zero-pads its input and drops
    /// the extra outputs), so only the real entries count: w_ij[k] is the mean of the real entries W[r, s] d[s] on
    /// the wrapped diagonal (r - s) mod b = k of block (i, j), and 0 where a diagonal has none. For multiples of b
    /// this is <see cref="Project(BlockCirculantShape, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>.
    /// </summary>
    public static Tensor ProjectPadded(Tensor weight, BlockCirculantShape shape, ReadOnlySpan<float> signs)
    {
        if (weight.Rank != 2 || weight.Shape[0] > shape.Out || weight.Shape[1] > shape.In)
            throw new ArgumentException($"circulant projection: weight {ShapeUtil.Format(weight.Shape)} does not fit {shape}");
        if (!signs.IsEmpty && signs.Length != shape.In) throw new ArgumentException($"circulant projection: signs has {signs.Length} elements, expected {shape.In}");
        int outF = weight.Shape[0], inF = weight.Shape[1], b = shape.BlockSize, q = shape.InBlocks;
        var w = weight.ToArray();
        var sum = new double[shape.Parameters];
        var count = new int[shape.Parameters];
        for (int r = 0; r < outF; r++)
            for (int c = 0; c < inF; c++)
            {
                int k = ((r % b) - (c % b) + b) % b, at = ((r / b) * q + c / b) * b + k;
                sum[at] += (double)w[r * inF + c] * (signs.IsEmpty ? 1f : signs[c]);
                count[at]++;
            }
        var blocks = new float[shape.Parameters];
        for (int i = 0; i < blocks.Length; i++) blocks[i] = count[i] == 0 ? 0f : (float)(sum[i] / count[i]);
        return new Tensor(blocks, shape.OutBlocks, shape.InBlocks, b);
    }
}

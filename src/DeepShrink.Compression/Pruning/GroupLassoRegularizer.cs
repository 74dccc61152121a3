namespace DeepShrink.Compression.Pruning;

/// <summary>
/// Group lasso over output channels (rows): lambda * sum_g ||w_g||_2, applied by proximal group
/// shrinkage; it removes whole rows (filters / neurons) at once.
/// </summary>
/// <remarks>
/// Yuan and Lin 2006; structured sparsity learning, Wen et al. 2016. prox(w_g) = w_g max(0, 1 - t / ||w_g||)
/// with t = lr * lambda: a row whose norm is at most t becomes exactly zero.
/// </remarks>
public sealed class GroupLassoRegularizer(double lambda) : Regularizer(lambda)
{
    /// <inheritdoc/>
    public override double Penalty(ReadOnlySpan<float> weights, int rows)
    {
        int cols = Cols(weights.Length, rows);
        double s = 0;
        for (int r = 0; r < rows; r++) s += RowNorm(weights.Slice(r * cols, cols));
        return Lambda * s;
    }

    /// <inheritdoc/>
    public override void Step(Span<float> weights, int rows, double lr)
    {
        int cols = Cols(weights.Length, rows);
        double t = lr * Lambda;
        for (int r = 0; r < rows; r++)
        {
            var g = weights.Slice(r * cols, cols);
            double norm = RowNorm(g);
            float f = norm > t ? (float)(1 - t / norm) : 0f;
            for (int i = 0; i < g.Length; i++) g[i] *= f;
        }
    }

    /// <summary>Euclidean norm of a group, in float64.</summary>
    internal static double RowNorm(ReadOnlySpan<float> g)
    {
        double s = 0;
        foreach (var v in g) s += (double)v * v;
        return Math.Sqrt(s);
    }
}

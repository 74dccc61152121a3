namespace DeepShrink.Compression.Pruning;

/// <summary>
/// A sparsity-inducing penalty lambda * R(W) applied by proximal (or explicit) steps after each
/// optimiser step (<see cref="RegularizationCallback"/>), as in proximal gradient descent.
/// </summary>
/// <remarks>
/// Weights are viewed as [rows, cols] with rows = the first dimension (output channels / neurons),
/// which are the groups of <see cref="GroupLassoRegularizer"/>.
/// </remarks>
public abstract class Regularizer
{
    /// <summary>Creates the penalty with strength <paramref name="lambda"/> (&gt;= 0).</summary>
    protected Regularizer(double lambda)
    {
        if (!(lambda >= 0) || double.IsInfinity(lambda)) throw new ArgumentOutOfRangeException(nameof(lambda), $"lambda must be a finite number >= 0, got {lambda}");
        Lambda = lambda;
    }

    /// <summary>Penalty strength lambda.</summary>
    public double Lambda { get; }

    /// <summary>The penalty lambda * R(w) of one weight tensor viewed as [rows, cols].</summary>
    public abstract double Penalty(ReadOnlySpan<float> weights, int rows);

    /// <summary>
    /// One step of the penalty with learning rate <paramref name="lr"/> on weights [rows, cols]
    /// (the proximal operator prox_{lr lambda R}, or a gradient step where no closed form exists).
    /// </summary>
    public abstract void Step(Span<float> weights, int rows, double lr);

    /// <summary>Throws unless rows divides the weight count.</summary>
    protected static int Cols(int length, int rows)
    {
        if (rows <= 0 || length % rows != 0) throw new ArgumentException($"{length} weights do not form {rows} rows");
        return length / rows;
    }
}

namespace DeepShrink.Compression.Pruning;

/// <summary>
/// Biased weight decay (Hanson and Pratt 1989): penalty lambda * sum w^2 / (1 + w^2), whose decay is
/// strongest, relative to the weight, for small weights and vanishes for large ones.
/// </summary>
/// <remarks>
/// The gradient is lambda * 2 w / (1 + w^2)^2, so the relative decay rate 2 lambda / (1 + w^2)^2 grows
/// as |w| shrinks: small weights are driven towards zero while large ones are barely penalised.
/// The penalty is non-convex, so <see cref="Step"/> is an explicit gradient step w -= lr * that gradient.
/// </remarks>
public sealed class BiasedWeightDecay(double lambda) : Regularizer(lambda)
{
    /// <inheritdoc/>
    public override double Penalty(ReadOnlySpan<float> weights, int rows)
    {
        Cols(weights.Length, rows);
        double s = 0;
        foreach (var w in weights) s += (double)w * w / (1 + (double)w * w);
        return Lambda * s;
    }

    /// <summary>d Penalty / d w for one weight: lambda * 2 w / (1 + w^2)^2.</summary>
    public double Gradient(double w) => Lambda * 2 * w / ((1 + w * w) * (1 + w * w));

    /// <inheritdoc/>
    public override void Step(Span<float> weights, int rows, double lr)
    {
        Cols(weights.Length, rows);
        for (int i = 0; i < weights.Length; i++) weights[i] = (float)(weights[i] - lr * Gradient(weights[i]));
    }
}

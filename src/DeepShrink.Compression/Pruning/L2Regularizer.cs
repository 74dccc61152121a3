namespace DeepShrink.Compression.Pruning;

/// <summary>L2 penalty lambda/2 * sum w^2 (weight decay), applied by its proximal shrink.</summary>
/// <remarks>prox_{t/2 |.|^2}(w) = w / (1 + t) with t = lr * lambda; shrinks but never zeroes, so a threshold step makes the mask.</remarks>
public sealed class L2Regularizer(double lambda) : Regularizer(lambda)
{
    /// <inheritdoc/>
    public override double Penalty(ReadOnlySpan<float> weights, int rows)
    {
        Cols(weights.Length, rows);
        double s = 0;
        foreach (var w in weights) s += (double)w * w;
        return 0.5 * Lambda * s;
    }

    /// <inheritdoc/>
    public override void Step(Span<float> weights, int rows, double lr)
    {
        Cols(weights.Length, rows);
        float f = (float)(1.0 / (1.0 + lr * Lambda));
        for (int i = 0; i < weights.Length; i++) weights[i] *= f;
    }
}

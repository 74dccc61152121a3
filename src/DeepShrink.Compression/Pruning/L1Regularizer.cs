namespace DeepShrink.Compression.Pruning;

/// <summary>L1 (lasso) penalty lambda * sum |w|, applied by soft thresholding (it produces exact zeros).</summary>
/// <remarks>prox_{t |.|}(w) = sign(w) max(|w| - t, 0) with t = lr * lambda (Tibshirani 1996; ISTA).</remarks>
public sealed class L1Regularizer(double lambda) : Regularizer(lambda)
{
    /// <inheritdoc/>
    public override double Penalty(ReadOnlySpan<float> weights, int rows)
    {
        Cols(weights.Length, rows);
        double s = 0;
        foreach (var w in weights) s += Math.Abs(w);
        return Lambda * s;
    }

    /// <inheritdoc/>
    public override void Step(Span<float> weights, int rows, double lr)
    {
        Cols(weights.Length, rows);
        float t = (float)(lr * Lambda);
        for (int i = 0; i < weights.Length; i++)
        {
            float a = MathF.Abs(weights[i]) - t;
            weights[i] = a > 0 ? MathF.CopySign(a, weights[i]) : 0f;
        }
    }
}

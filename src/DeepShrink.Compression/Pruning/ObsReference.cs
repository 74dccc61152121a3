namespace DeepShrink.Compression.Pruning;

/// <summary>
/// Reference twin of <see cref="ObsRowSolver"/>: the greedy Optimal Brain Surgeon path of one row with
/// an explicit full rank-one downdate of the inverse Hessian per removal (plain loops, the specification).
/// </summary>
public static class ObsReference
{
    /// <summary>
    /// Removes <paramref name="steps"/> weights of <paramref name="w0"/> greedily (smallest w_q^2 / [H^-1]_qq
    /// first, lowest index on ties); returns the updated row, its mask and the per-step loss increases.
    /// </summary>
    public static (double[] W, float[] Mask, double[] StepLoss) PruneRow(ReadOnlySpan<double> hinv, ReadOnlySpan<float> w0, int steps) // [d, d], [d]
    {
        int d = w0.Length;
        var h = hinv.ToArray();
        var w = new double[d];
        for (int j = 0; j < d; j++) w[j] = w0[j];
        var mask = Enumerable.Repeat(1f, d).ToArray();
        var loss = new double[steps];
        var col = new double[d];
        for (int k = 0; k < steps; k++)
        {
            int q = -1;
            double best = double.PositiveInfinity;
            for (int j = 0; j < d; j++)
                if (mask[j] != 0f && (q < 0 || w[j] * w[j] / h[j * d + j] < best)) { best = w[j] * w[j] / h[j * d + j]; q = j; }
            double c = Math.Max(h[q * d + q], double.Epsilon), wq = w[q];
            loss[k] = wq * wq / (2 * c);
            for (int j = 0; j < d; j++) col[j] = h[j * d + q];
            for (int j = 0; j < d; j++) w[j] -= wq / c * col[j];
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) h[i * d + j] -= col[i] * col[j] / c;
            w[q] = 0; mask[q] = 0f;
        }
        for (int j = 0; j < d; j++) if (mask[j] == 0f) w[j] = 0;
        return (w, mask, loss);
    }
}

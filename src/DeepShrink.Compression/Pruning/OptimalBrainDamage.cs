namespace DeepShrink.Compression.Pruning;

/// <summary>
/// Optimal Brain Damage (LeCun, Denker and Solla 1990): prunes the weights whose removal increases the
/// loss least under a diagonal second-order model of the loss.
/// </summary>
/// <remarks>
/// At a minimum (zero gradient) with a diagonal Hessian, deleting weight q changes the loss by the
/// saliency s_q = 1/2 h_qq w_q^2. The diagonal h comes from the empirical Fisher (mean squared
/// per-sample gradient, <see cref="EmpiricalFisher"/>) or, for a linear layer y = W x with the
/// layer-wise error, from h = 2 E[x_j^2] for every weight of column j (<see cref="LayerHessian.Diagonal"/>).
/// Fisher saliencies are loss changes and may be ranked across layers (<see cref="ScoreMasks.Global"/>).
/// </remarks>
public static class OptimalBrainDamage
{
    /// <summary>s_q = 1/2 h_qq w_q^2 for every weight.</summary>
    public static double[] Saliency(ReadOnlySpan<float> weights, ReadOnlySpan<double> hessianDiagonal)
    {
        if (weights.Length != hessianDiagonal.Length)
            throw new ArgumentException($"{weights.Length} weights but {hessianDiagonal.Length} Hessian diagonal entries");
        var s = new double[weights.Length];
        for (int i = 0; i < s.Length; i++) s[i] = 0.5 * hessianDiagonal[i] * weights[i] * weights[i];
        return s;
    }

    /// <summary>
    /// Saliencies of a layer's weights [rows, cols] from a per-column Hessian diagonal (the layer-wise
    /// 2 E[x_j^2], shared by every row).
    /// </summary>
    public static double[] LayerwiseSaliency(ReadOnlySpan<float> weights, ReadOnlySpan<double> inputDiagonal) // [rows, cols], [cols]
    {
        int d = inputDiagonal.Length;
        if (d == 0 || weights.Length % d != 0) throw new ArgumentException($"{weights.Length} weights do not form rows of {d} inputs");
        var s = new double[weights.Length];
        for (int i = 0; i < s.Length; i++) s[i] = 0.5 * inputDiagonal[i % d] * weights[i] * weights[i];
        return s;
    }

    /// <summary>Mask pruning the <paramref name="sparsity"/> fraction of lowest-saliency weights.</summary>
    public static float[] Mask(ReadOnlySpan<float> weights, ReadOnlySpan<double> hessianDiagonal, double sparsity)
        => ScoreMasks.ForSparsity(Saliency(weights, hessianDiagonal), sparsity);
}

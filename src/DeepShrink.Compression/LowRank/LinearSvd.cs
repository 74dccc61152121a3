namespace DeepShrink.Compression.LowRank;

/// <summary>
/// Truncated SVD of a fully connected layer: W [out, in] ~ (U_r S_r^1/2)(S_r^1/2 V_r^T), run as
/// linear in -&gt; r (no bias) followed by linear r -&gt; out (with the original bias).
/// </summary>
/// <remarks>
/// Denton et al. 2014, "Exploiting linear structure within convolutional networks for efficient
/// evaluation"; Xue et al. 2013. By Eckart-Young the truncation is the best rank-r approximation in the
/// Frobenius norm, with ||W - W_r||_F^2 = sum_{i&gt;r} s_i^2. The singular values are split evenly
/// (S^1/2 on both factors) so the two weights have comparable ranges (helps later quantisation).
/// Parameters r (in + out) + out; multiply-accumulates r (in + out) per sample.
/// </remarks>
public static class LinearSvd
{
    /// <summary>Factorises a linear layer at the given rank (1..min(out, in)).</summary>
    public static Factorization Decompose(FactorLayer linear, int rank)
    {
        Check(linear);
        int o = linear.OutChannels, i = linear.InChannels;
        var svd = Svd.Truncated(linear.Weight, o, i, rank);
        return Build(linear, svd);
    }

    /// <summary>Factorises at the smallest rank keeping <paramref name="energy"/> of sum s_i^2 (0 &lt; energy &lt;= 1).</summary>
    public static Factorization DecomposeByEnergy(FactorLayer linear, double energy)
    {
        Check(linear);
        var svd = Svd.Thin(linear.Weight, linear.OutChannels, linear.InChannels);
        return Build(linear, Truncate(svd, RankSelection.ByEnergy(svd.S, energy)));
    }

    /// <summary>Factorises at the largest rank whose cost (parameters, or MACs per sample) is at most <paramref name="budget"/>.</summary>
    public static Factorization DecomposeByBudget(FactorLayer linear, long budget, CostKind kind = CostKind.Parameters)
    {
        Check(linear);
        int rank = RankSelection.LargestFitting(MaxRank(linear), r => Cost(linear, r, kind), budget, "svd");
        return Decompose(linear, rank);
    }

    /// <summary>Largest meaningful rank: min(out, in).</summary>
    public static int MaxRank(FactorLayer linear) => Math.Min(linear.OutChannels, linear.InChannels);

    /// <summary>Parameters (weights + bias) or MACs per sample of the factorised pair at a rank.</summary>
    public static long Cost(FactorLayer linear, int rank, CostKind kind)
    {
        long macs = (long)rank * (linear.OutChannels + linear.InChannels);
        return kind == CostKind.Macs ? macs : macs + (linear.Bias?.Length ?? 0);
    }

    /// <summary>Relative Frobenius error at each rank 0..min(out, in) from the singular values: sqrt(sum_{i&gt;=r} s_i^2 / sum s_i^2).</summary>
    public static double[] ErrorByRank(double[] singularValues)
    {
        var err = new double[singularValues.Length + 1];
        double total = singularValues.Sum(s => s * s), tail = total;
        for (int r = 0; r <= singularValues.Length; r++)
        {
            err[r] = total == 0 ? 0 : Math.Sqrt(Math.Max(tail, 0) / total);
            if (r < singularValues.Length) tail -= singularValues[r] * singularValues[r];
        }
        return err;
    }

    internal static SvdResult Truncate(SvdResult svd, int rank)
    {
        if (rank == svd.Rank) return svd;
        var u = new double[svd.M * rank];
        for (int i = 0; i < svd.M; i++) svd.U.AsSpan(i * svd.Rank, rank).CopyTo(u.AsSpan(i * rank, rank));
        return new SvdResult(u, svd.S[..rank], svd.Vt[..(rank * svd.N)], svd.M, svd.N, rank);
    }

    private static Factorization Build(FactorLayer linear, SvdResult svd)
    {
        int o = svd.M, n = svd.N, r = svd.Rank;
        var first = new float[r * n];  // [r, in] = S^1/2 V^T
        var second = new float[o * r]; // [out, r] = U S^1/2
        for (int k = 0; k < r; k++)
        {
            double h = Math.Sqrt(svd.S[k]);
            for (int j = 0; j < n; j++) first[k * n + j] = (float)(h * svd.Vt[k * n + j]);
            for (int i = 0; i < o; i++) second[i * r + k] = (float)(h * svd.U[i * r + k]);
        }
        var approx = Factorization.ToFloat(svd.Reconstruct());
        var layers = new[] { FactorLayer.Linear(first, r, n), FactorLayer.Linear(second, o, r, linear.Bias) };
        return new Factorization("svd", linear, layers, new[] { r }, approx, Factorization.RelativeErrorOf(linear.Weight, approx));
    }

    private static void Check(FactorLayer layer)
    {
        layer.Validated();
        if (!layer.IsLinear) throw new ArgumentException($"svd: expected a linear layer, got {layer.Op} (use Tucker2, Cp or SpatialSvd for convolutions)");
    }
}

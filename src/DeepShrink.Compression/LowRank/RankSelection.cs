namespace DeepShrink.Compression.LowRank;

/// <summary>What a rank budget counts.</summary>
public enum CostKind
{
    /// <summary>Stored parameters (weights and bias).</summary>
    Parameters,
    /// <summary>Multiply-accumulates per sample (conv: for a given input spatial size).</summary>
    Macs,
}

/// <summary>Per-layer rank choices: by retained energy, by a cost budget.</summary>
public static class RankSelection
{
    /// <summary>
    /// Smallest r with sum_{i&lt;r} s_i^2 &gt;= energy * sum s_i^2 (singular values largest first),
    /// at least 1; energy in (0, 1].
    /// </summary>
    public static int ByEnergy(ReadOnlySpan<double> singularValues, double energy)
    {
        if (!(energy > 0 && energy <= 1)) throw new ArgumentException($"rank: energy {energy} must be in (0, 1]");
        if (singularValues.Length == 0) throw new ArgumentException("rank: no singular values");
        double total = 0;
        foreach (var s in singularValues) total += s * s;
        double kept = 0;
        for (int r = 0; r < singularValues.Length; r++)
        {
            kept += singularValues[r] * singularValues[r];
            if (kept >= energy * total * (1 - 1e-12)) return r + 1;
        }
        return singularValues.Length;
    }

    /// <summary>
    /// Largest rank in 1..<paramref name="maxRank"/> whose cost is at most <paramref name="budget"/>
    /// (cost non-decreasing in the rank; binary search). Throws when even rank 1 does not fit.
    /// </summary>
    public static int LargestFitting(int maxRank, Func<int, long> cost, long budget, string method)
    {
        if (maxRank < 1) throw new ArgumentException($"{method}: no rank to choose (max rank {maxRank})");
        if (cost(1) > budget) throw new ArgumentException($"{method}: budget {budget} is below the cost of rank 1 ({cost(1)})");
        int lo = 1, hi = maxRank;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (cost(mid) <= budget) lo = mid; else hi = mid - 1;
        }
        return lo;
    }
}

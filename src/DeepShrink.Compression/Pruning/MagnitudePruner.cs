using DeepShrink.Core;

namespace DeepShrink.Compression.Pruning;

/// <summary>
/// Magnitude pruning (Han et al. 2015, "Learning both weights and connections"): weights whose
/// magnitude is below a per-layer threshold are removed.
/// </summary>
/// <remarks>
/// The threshold is either quality * std(W) (the paper's rule: "a quality parameter multiplied by
/// the standard deviation of a layer's weights") or the magnitude at a requested sparsity quantile.
/// Weights already pruned stay pruned (masks only shrink), so iterative prune/retrain converges.
/// </remarks>
public static class MagnitudePruner
{
    /// <summary>Threshold = quality * standard deviation of the weights.</summary>
    public static float ThresholdFromQuality(ReadOnlySpan<float> weights, float quality)
    {
        if (quality < 0f) throw new ArgumentOutOfRangeException(nameof(quality), "quality must be >= 0");
        if (weights.Length == 0) return 0f;
        double mean = 0;
        foreach (var w in weights) mean += w;
        mean /= weights.Length;
        double var = 0;
        foreach (var w in weights) var += (w - mean) * (w - mean);
        return (float)(quality * Math.Sqrt(var / weights.Length));
    }

    /// <summary>
    /// Mask keeping the largest-magnitude (1 - sparsity) fraction of weights. Ties at the cut are
    /// broken by position so that exactly round(sparsity * n) weights are pruned.
    /// </summary>
    public static float[] MaskForSparsity(ReadOnlySpan<float> weights, double sparsity, float[]? previous = null)
    {
        if (sparsity < 0 || sparsity > 1) throw new ArgumentOutOfRangeException(nameof(sparsity), $"sparsity must be in [0, 1], got {sparsity}");
        int n = weights.Length;
        int prune = (int)Math.Round(sparsity * n);
        var order = new int[n];
        var mags = new float[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
            // Previously pruned weights sort first so they stay pruned.
            mags[i] = previous is not null && previous[i] == 0f ? -1f : MathF.Abs(weights[i]);
        }
        Array.Sort(mags, order);
        var mask = new float[n];
        Array.Fill(mask, 1f);
        for (int i = 0; i < prune; i++) mask[order[i]] = 0f;
        if (previous is not null)
            for (int i = 0; i < n; i++) if (previous[i] == 0f) mask[i] = 0f;
        return mask;
    }

    /// <summary>Mask from the quality rule, combined with a previous mask.</summary>
    public static float[] MaskForQuality(ReadOnlySpan<float> weights, float quality, float[]? previous = null)
    {
        var m = MaskSet.FromThreshold(weights, ThresholdFromQuality(weights, quality));
        if (previous is not null) for (int i = 0; i < m.Length; i++) m[i] *= previous[i];
        return m;
    }
}

using DeepShrink.Core;

namespace DeepShrink.Compression.Sharing;

/// <summary>How k-means centroids are initialised (Han et al. 2016, sec. 3.2).</summary>
public enum CentroidInit
{
    /// <summary>Evenly spaced between min and max weight (the paper's best: keeps large weights represented).</summary>
    Linear,
    /// <summary>Evenly spaced on the weights' cumulative distribution (quantiles).</summary>
    Density,
    /// <summary>k weights chosen at random (Forgy).</summary>
    Random,
}

/// <summary>Scalar (1-D) k-means for weight sharing.</summary>
public static class KMeans1D
{
    /// <summary>
    /// Clusters <paramref name="values"/> into at most <paramref name="k"/> centroids (Lloyd's
    /// algorithm on sorted data, exact for 1-D). Returns centroids sorted ascending.
    /// </summary>
    public static float[] Fit(ReadOnlySpan<float> values, int k, CentroidInit init, Rng rng, int maxIter = 100)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), "k must be >= 1");
        if (values.Length == 0) return new float[] { 0f };
        var sorted = values.ToArray();
        Array.Sort(sorted);
        float min = sorted[0], max = sorted[^1];
        var c = new double[k];
        switch (init)
        {
            case CentroidInit.Linear:
                for (int j = 0; j < k; j++) c[j] = k == 1 ? (min + max) / 2.0 : min + (max - min) * j / (double)(k - 1);
                break;
            case CentroidInit.Density:
                for (int j = 0; j < k; j++) c[j] = sorted[(int)Math.Min(sorted.Length - 1, Math.Round((j + 0.5) * sorted.Length / k))];
                break;
            default:
                for (int j = 0; j < k; j++) c[j] = sorted[rng.NextInt(sorted.Length)];
                Array.Sort(c);
                break;
        }
        // Prefix sums make each Lloyd iteration O(k log n) on sorted data.
        var prefix = new double[sorted.Length + 1];
        for (int i = 0; i < sorted.Length; i++) prefix[i + 1] = prefix[i] + sorted[i];
        var bounds = new int[k + 1];
        for (int it = 0; it < maxIter; it++)
        {
            Array.Sort(c);
            bounds[0] = 0; bounds[k] = sorted.Length;
            for (int j = 1; j < k; j++) bounds[j] = LowerBound(sorted, (float)((c[j - 1] + c[j]) / 2));
            bool changed = false;
            for (int j = 0; j < k; j++)
            {
                int lo = bounds[j], hi = Math.Max(bounds[j], bounds[j + 1]);
                if (hi <= lo) continue; // empty cluster keeps its centroid
                double m = (prefix[hi] - prefix[lo]) / (hi - lo);
                if (Math.Abs(m - c[j]) > 1e-12) { c[j] = m; changed = true; }
            }
            if (!changed) break;
        }
        var res = c.Select(v => (float)v).Distinct().ToArray();
        Array.Sort(res);
        return res;
    }

    private static int LowerBound(float[] sorted, float x)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi) { int mid = (lo + hi) >>> 1; if (sorted[mid] < x) lo = mid + 1; else hi = mid; }
        return lo;
    }

    /// <summary>Index of the nearest centroid (centroids sorted ascending).</summary>
    public static int Nearest(ReadOnlySpan<float> centroids, float v)
    {
        int lo = 0, hi = centroids.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (v > (centroids[mid] + centroids[mid + 1]) * 0.5f) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}

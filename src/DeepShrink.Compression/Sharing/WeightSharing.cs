using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Sharing;

/// <summary>
/// Trained quantisation by weight sharing (Han et al. 2016, "Deep Compression", sec. 3): per-layer
/// k-means over the kept weights, then centroid fine-tuning.
/// </summary>
public static class WeightSharing
{
    /// <summary>
    /// Clusters the kept (non-zero, or mask 1) weights of <paramref name="weights"/> into 2^bits
    /// centroids and returns the shared layer; the caller writes the quantised values back.
    /// </summary>
    /// <remarks>
    /// When the tensor is pruned (<paramref name="mask"/> given), only 2^bits - 1 clusters are used so
    /// that the zero of the sparse format's filler entries still fits in <paramref name="bits"/>-bit codes.
    /// </remarks>
    public static SharedLayer Quantize(string name, ReadOnlySpan<float> weights, float[]? mask, int bits, CentroidInit init, Rng rng)
    {
        var kept = new List<float>(weights.Length);
        for (int i = 0; i < weights.Length; i++)
            if (mask is null ? weights[i] != 0f : mask[i] != 0f) kept.Add(weights[i]);
        int k = mask is null ? 1 << bits : Math.Max(1, (1 << bits) - 1);
        var centroids = KMeans1D.Fit(kept.ToArray(), k, init, rng);
        var assign = new int[weights.Length];
        for (int i = 0; i < weights.Length; i++)
        {
            bool isKept = mask is null ? weights[i] != 0f : mask[i] != 0f;
            assign[i] = isKept ? KMeans1D.Nearest(centroids, weights[i]) : -1;
        }
        return new SharedLayer(name, bits, centroids, assign);
    }

    /// <summary>Quantises the named parameters of a model in place and returns the shared layers.</summary>
    public static Dictionary<string, SharedLayer> QuantizeModel(Module model, IReadOnlyDictionary<string, int> bitsPerParam,
        Pruning.MaskSet? masks, CentroidInit init, Rng rng)
    {
        var result = new Dictionary<string, SharedLayer>();
        foreach (var (name, p) in model.NamedParameters())
        {
            if (!bitsPerParam.TryGetValue(name, out int bits)) continue;
            var layer = Quantize(name, p.Span, masks?.Get(name), bits, init, rng);
            layer.WriteWeights(p.Span);
            result[name] = layer;
        }
        return result;
    }
}

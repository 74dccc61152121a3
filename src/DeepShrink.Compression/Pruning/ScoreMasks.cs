namespace DeepShrink.Compression.Pruning;

/// <summary>
/// Pruning masks from importance scores (saliencies): the lowest-scoring weights are pruned, either
/// within one layer or across layers with one global ranking.
/// </summary>
/// <remarks>
/// Exactly round(sparsity * n) weights are pruned; among equal scores the lower flat index is pruned
/// first, so masks are deterministic. A mask value of 1 keeps a weight, 0 prunes it (as in <see cref="MaskSet"/>).
/// </remarks>
public static class ScoreMasks
{
    /// <summary>Mask pruning the round(<paramref name="sparsity"/> * n) lowest scores.</summary>
    public static float[] ForSparsity(ReadOnlySpan<double> scores, double sparsity)
    {
        CheckSparsity(sparsity);
        var mask = new float[scores.Length];
        Array.Fill(mask, 1f);
        var order = Ranking(scores);
        int prune = (int)Math.Round(sparsity * scores.Length);
        for (int i = 0; i < prune; i++) mask[order[i]] = 0f;
        return mask;
    }

    /// <summary>
    /// Masks from one ranking over all layers' scores: the round(<paramref name="sparsity"/> * total)
    /// lowest scores anywhere are pruned (scores must be comparable across layers, e.g. OBD loss changes).
    /// </summary>
    public static Dictionary<string, float[]> Global(IReadOnlyDictionary<string, double[]> scores, double sparsity)
    {
        CheckSparsity(sparsity);
        var names = scores.Keys.ToArray();
        int total = names.Sum(n => scores[n].Length);
        var all = new double[total];
        var owner = new int[total];
        int at = 0;
        for (int k = 0; k < names.Length; k++)
        {
            scores[names[k]].CopyTo(all, at);
            owner.AsSpan(at, scores[names[k]].Length).Fill(k);
            at += scores[names[k]].Length;
        }
        var flat = ForSparsity(all, sparsity);
        var masks = new Dictionary<string, float[]>();
        at = 0;
        foreach (var n in names)
        {
            masks[n] = flat.AsSpan(at, scores[n].Length).ToArray();
            at += scores[n].Length;
        }
        return masks;
    }

    /// <summary>Indices sorted by ascending score, ties by ascending index.</summary>
    internal static int[] Ranking(ReadOnlySpan<double> scores)
    {
        foreach (var s in scores)
            if (double.IsNaN(s)) throw new ArgumentException("scores contain NaN");
        var keys = scores.ToArray();
        var order = new int[keys.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (a, b) => keys[a] != keys[b] ? keys[a].CompareTo(keys[b]) : a.CompareTo(b));
        return order;
    }

    /// <summary>Throws unless 0 &lt;= sparsity &lt;= 1.</summary>
    internal static void CheckSparsity(double sparsity)
    {
        if (!(sparsity >= 0 && sparsity <= 1)) throw new ArgumentOutOfRangeException(nameof(sparsity), $"sparsity must be in [0, 1], got {sparsity}");
    }
}

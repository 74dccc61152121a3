using DeepShrink.Nn;

namespace DeepShrink.Compression.Pruning;

/// <summary>
/// The threshold step after regularised training: weights (or whole rows) that the penalty drove to
/// or below a threshold become pruned in a <see cref="MaskSet"/>.
/// </summary>
public static class ThresholdPruner
{
    /// <summary>Masks keeping weights with |w| &gt;= <paramref name="threshold"/> (and w != 0).</summary>
    public static MaskSet Masks(Module model, IEnumerable<string> parameterNames, float threshold)
    {
        if (!(threshold >= 0)) throw new ArgumentOutOfRangeException(nameof(threshold), $"threshold must be >= 0, got {threshold}");
        var masks = new MaskSet();
        foreach (var (name, p) in Select(model, parameterNames)) masks.Set(name, MaskSet.FromThreshold(p.ContiguousData().Span, threshold));
        return masks;
    }

    /// <summary>
    /// Masks that prune whole rows (output channels, the group-lasso groups) whose L2 norm is at most
    /// <paramref name="threshold"/>; rows above it are kept entirely.
    /// </summary>
    public static MaskSet RowMasks(Module model, IEnumerable<string> parameterNames, float threshold)
    {
        if (!(threshold >= 0)) throw new ArgumentOutOfRangeException(nameof(threshold), $"threshold must be >= 0, got {threshold}");
        var masks = new MaskSet();
        foreach (var (name, p) in Select(model, parameterNames))
        {
            var w = p.ContiguousData().Span;
            int rows = p.Shape[0], cols = w.Length / rows;
            var m = new float[w.Length];
            for (int r = 0; r < rows; r++)
                if (GroupLassoRegularizer.RowNorm(w.Slice(r * cols, cols)) > threshold) m.AsSpan(r * cols, cols).Fill(1f);
            masks.Set(name, m);
        }
        return masks;
    }

    private static IEnumerable<(string Name, Core.Tensor Param)> Select(Module model, IEnumerable<string> names)
    {
        var all = model.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        foreach (var n in names)
            yield return all.TryGetValue(n, out var p) ? (n, p) : throw new ArgumentException($"model has no parameter '{n}'");
    }
}

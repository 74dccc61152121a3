using DeepShrink.Compression.Recipes;
using DeepShrink.Compression.Sharing;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Runs a <see cref="SharingSpec"/>: per-layer k-means codebooks (bits fixed by the recipe, or
/// chosen automatically as the fewest bits whose validation accuracy stays within a small share of
/// the budget), then centroid fine-tuning in the following epochs.
/// </summary>
public sealed class SharingPhase(SharingSpec spec, double maxDropPp)
{
    /// <summary>Smallest bit width tried in automatic mode.</summary>
    public const int MinAutoBits = 2;

    /// <summary>Clusters every shared parameter and activates centroid fine-tuning.</summary>
    public void Apply(CompressionContext ctx)
    {
        var names = ctx.Model.NamedParameters()
            .Where(p => p.Param.Rank >= 2 && !(LayerRule.First(spec.Layers, p.Name)?.Skip ?? false))
            .Select(p => (p.Name, p.Param)).ToList();
        double reference = spec.AutoBits ? ctx.ValidationAccuracy() : 0;
        foreach (var (name, p) in names)
        {
            int maxBits = LayerRule.First(spec.Layers, name)?.Bits ?? (CompressionContext.IsConv(p) ? spec.ConvBits : spec.FcBits);
            int bits = maxBits;
            if (spec.AutoBits && LayerRule.First(spec.Layers, name)?.Bits is null)
                bits = ChooseBits(ctx, name, p, maxBits, reference, maxDropPp / 100.0 / Math.Max(1, names.Count));
            var layer = WeightSharing.Quantize(name, p.Span, ctx.Masks.Get(name), bits, spec.Init, ctx.Rng.Fork());
            layer.WriteWeights(p.Span);
            ctx.Shared[name] = layer;
            var plan = ctx.Plans.TryGetValue(name, out var pl) ? pl : ctx.Plans[name] = new LayerPlan();
            plan.Bits = bits;
        }
        ctx.Callbacks.Add(new SharingCallback(ctx.Shared, (float)spec.CentroidLrScale, spec.Step));
        ctx.Log("weight sharing: " + string.Join(", ", ctx.Shared.Select(kv => $"{kv.Key} {kv.Value.Bits} bits")));
    }

    private int ChooseBits(CompressionContext ctx, string name, Core.Tensor p, int maxBits, double reference, double tolerance)
    {
        var saved = p.ToArray();
        try
        {
            for (int b = MinAutoBits; b < maxBits; b++)
            {
                var layer = WeightSharing.Quantize(name, saved, ctx.Masks.Get(name), b, spec.Init, ctx.Rng.Fork());
                layer.WriteWeights(p.Span);
                double acc = ctx.ValidationAccuracy();
                saved.CopyTo(p.Span);
                if (reference - acc <= tolerance) return b;
            }
            return maxBits;
        }
        finally { saved.CopyTo(p.Span); }
    }
}

using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Pruning;

/// <summary>
/// One-shot (no retraining) pruning of a model's <see cref="Linear"/> and <see cref="Conv2d"/> weights
/// by magnitude, OBD or OBS from a calibration set: the entry point for recipe components.
/// </summary>
/// <remarks>
/// Saliencies and Hessians are computed from the dense model on the calibration batches (each layer
/// independently, as L-OBS and OBC do), then every layer is pruned to its own sparsity. Weights are
/// changed in place (zeroed, and re-fitted for <see cref="OneShotCriterion.Obs"/>); the returned masks
/// keep them pruned during any later retraining (<see cref="PruningCallback"/>).
/// </remarks>
public static class OneShotPruner
{
    /// <summary>
    /// Prunes every prunable layer whose weight name (e.g. <c>fc1.weight</c>) gets a sparsity from
    /// <paramref name="sparsityOf"/> (null: the layer is left dense) and returns the masks by weight name.
    /// </summary>
    public static MaskSet Prune(Module model, IReadOnlyList<(Tensor X, int[] Y)> calibration, OneShotCriterion criterion,
        Func<string, double?> sparsityOf, ObsOptions? obs = null)
    {
        var targets = LayerCalibration.PrunableLayers(model)
            .Select(l => (l.Name, Weight: WeightOf(l.Layer), Param: l.Name.Length == 0 ? "weight" : l.Name + ".weight"))
            .Select(t => (t.Name, t.Weight, t.Param, Sparsity: sparsityOf(t.Param)))
            .Where(t => t.Sparsity is not null).ToList();
        foreach (var t in targets) ScoreMasks.CheckSparsity(t.Sparsity!.Value);
        var masks = new MaskSet();
        if (targets.Count == 0) return masks;
        if (criterion != OneShotCriterion.Magnitude && calibration.Count == 0) throw new ArgumentException($"{criterion} pruning needs calibration batches");
        var hessians = criterion is OneShotCriterion.ObdLayerwise or OneShotCriterion.Obs
            ? LayerCalibration.CollectHessians(model, calibration.Select(b => b.X), targets.Select(t => t.Name)) : null;
        var fisher = criterion == OneShotCriterion.ObdFisher
            ? EmpiricalFisher.Diagonal(model, calibration, targets.Select(t => t.Param)) : null;
        foreach (var (name, weight, param, sparsity) in targets)
        {
            var w = weight.ContiguousData().ToArray();
            double s = sparsity!.Value;
            float[] mask, pruned;
            if (criterion == OneShotCriterion.Obs)
            {
                var r = OptimalBrainSurgeon.Prune(w, weight.Shape[0], hessians![name], s, obs);
                (mask, pruned) = (r.Mask, r.Weights);
            }
            else
            {
                mask = criterion switch
                {
                    OneShotCriterion.Magnitude => MagnitudePruner.MaskForSparsity(w, s),
                    OneShotCriterion.ObdFisher => OptimalBrainDamage.Mask(w, fisher![param], s),
                    _ => ScoreMasks.ForSparsity(OptimalBrainDamage.LayerwiseSaliency(w, hessians![name].Diagonal()), s),
                };
                pruned = w;
                System.Numerics.Tensors.TensorPrimitives.Multiply(w, mask, pruned);
            }
            pruned.CopyTo(weight.Span);
            masks.Set(param, mask);
        }
        return masks;
    }

    /// <summary>The weight tensor of a Linear or Conv2d layer.</summary>
    public static Tensor WeightOf(Module layer) => layer switch
    {
        Linear l => l.Weight,
        Conv2d c => c.Weight,
        _ => throw new ArgumentException($"not a prunable layer: {layer.GetType().Name}"),
    };
}

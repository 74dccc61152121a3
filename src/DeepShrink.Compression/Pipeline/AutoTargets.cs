using DeepShrink.Compression.Sensitivity;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Chooses per-layer sparsity from sensitivity curves (each layer pruned alone, no retraining).
/// </summary>
/// <remarks>
/// Pruning without retraining says little about the absolute accuracy after retraining (a layer
/// that collapses to 60% at 90% sparsity often recovers fully), but it ranks layers well. So a
/// layer's target is the largest sparsity at which it still keeps <see cref="RetainFraction"/> of
/// the baseline's margin over chance: accuracy >= chance + RetainFraction * (baseline - chance).
/// The accuracy budget is then enforced with retraining by <see cref="RecipeRunner"/>, which backs
/// targets off when the retrained model falls outside it.
/// </remarks>
public static class AutoTargets
{
    /// <summary>Share of the margin over chance a layer must keep when pruned alone.</summary>
    public const double RetainFraction = 0.5;

    /// <summary>Per-parameter target sparsity.</summary>
    public static Dictionary<string, double> Choose(IReadOnlyList<SensitivityCurve> curves, int numClasses, double retainFraction = RetainFraction)
    {
        double chance = 1.0 / Math.Max(2, numClasses);
        var res = new Dictionary<string, double>();
        foreach (var c in curves)
        {
            double floor = chance + retainFraction * (c.BaselineAccuracy - chance);
            double best = 0;
            for (int i = 0; i < c.Sparsities.Length; i++)
                if (c.Accuracies[i] >= floor) best = Math.Max(best, c.Sparsities[i]);
            res[c.Parameter] = best;
        }
        return res;
    }

    /// <summary>Backs a target off: the kept fraction grows by <paramref name="factor"/>.</summary>
    public static double BackOff(double sparsity, double factor = 1.5) => Math.Max(0, 1 - (1 - sparsity) * factor);
}

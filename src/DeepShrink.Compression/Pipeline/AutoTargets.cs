using DeepShrink.Compression.Sensitivity;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Chooses per-layer sparsity from sensitivity curves. Pruning without retraining costs far more
/// accuracy than the same sparsity after retraining, so each layer may lose up to a tolerance that
/// is a multiple of the final budget, with the tolerance shared in proportion to layer size: big
/// layers (where the bytes are) get the largest share.
/// </summary>
public static class AutoTargets
{
    /// <summary>No-retrain tolerance per point of final budget (empirical: retraining recovers most of it).</summary>
    public const double RecoveryFactor = 8.0;

    /// <summary>Per-parameter target sparsity.</summary>
    public static Dictionary<string, double> Choose(IReadOnlyList<SensitivityCurve> curves, Module model, double maxDrop)
    {
        var sizes = model.NamedParameters().ToDictionary(p => p.Name, p => (double)p.Param.Size);
        double total = curves.Sum(c => sizes[c.Parameter]);
        var res = new Dictionary<string, double>();
        foreach (var c in curves)
        {
            // Each layer gets at least a quarter of the overall tolerance so small layers still prune.
            double share = Math.Max(0.25, sizes[c.Parameter] / total);
            double tol = Math.Max(0.002, RecoveryFactor * maxDrop * share);
            res[c.Parameter] = c.MaxSparsityWithin(tol);
        }
        return res;
    }
}

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// The automatic pruning level (<c>sparsity: auto</c>): among the equal-error allocations of
/// <see cref="GlobalAllocation"/>, the sparsest whose one-shot pruned model (every layer at its grid snapshot,
/// no retraining) keeps its validation accuracy within <see cref="OneShotDropPerBudget"/> times the budget.
/// </summary>
/// <remarks>
/// Retraining recovers most of a one-shot loss, so the one-shot tolerance is a multiple of the final
/// budget; the runner's budget check (with its paired-error margin) backs the level off when the retrained
/// model misses the budget on validation data.
/// </remarks>
public static class AutoLevel
{
    /// <summary>One-shot validation drop tolerated per point of accuracy budget.</summary>
    public const double OneShotDropPerBudget = 6;

    /// <summary>Per-parameter sparsity of the chosen level (grid sparsities).</summary>
    public static Dictionary<string, double> Choose(CompressionContext ctx, IReadOnlyList<LayerErrorCurve> curves, double budgetPp)
    {
        var pars = curves.ToDictionary(c => c.Parameter, c => ctx.Param(c.Parameter));
        var saved = pars.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        double baseline = ctx.ValidationAccuracy();
        double floor = baseline - OneShotDropPerBudget * budgetPp / 100;
        var candidates = curves.SelectMany(c => c.RelativeError).Where(e => e > 0).Distinct().Order().ToList();
        double chosen = 0;
        try
        {
            // One-shot accuracy falls as epsilon grows: bisect for the last candidate above the floor.
            int lo = -1, hi = candidates.Count; // lo passes (or is the dense model), hi fails
            while (hi - lo > 1)
            {
                int mid = (lo + hi) / 2;
                double eps = candidates[mid];
                foreach (var c in curves) c.Snapshots![c.GridIndexAt(eps)].CopyTo(pars[c.Parameter].Span);
                double acc = ctx.ValidationAccuracy();
                ctx.Log($"auto level: error {eps:G3} -> " + string.Join(", ", curves.Select(c => $"{c.Parameter} {c.SparsityAt(eps, true):P0}")) + $": one-shot validation {acc:P2}");
                if (acc >= floor) lo = mid; else hi = mid;
            }
            if (lo >= 0) chosen = candidates[lo];
        }
        finally
        {
            foreach (var (n, w) in saved) w.CopyTo(pars[n].Span);
        }
        ctx.Log($"auto level: relative layer error {chosen:G3} (one-shot floor {floor:P2} = baseline - {OneShotDropPerBudget} x {budgetPp:F2} pp)");
        return GlobalAllocation.At(curves, chosen, gridOnly: true);
    }
}

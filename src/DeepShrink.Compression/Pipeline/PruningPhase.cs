using DeepShrink.Compression.Pruning;
using DeepShrink.Compression.Recipes;
using DeepShrink.Compression.Sensitivity;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Runs a <see cref="PruningSpec"/>: chooses per-layer targets (fixed, quality or automatic from
/// sensitivity curves), then prunes iteratively at each scheduled epoch following the cubic
/// gradual schedule s_i = s_f (1 - (1 - i/n)^3) (Zhu and Gupta 2017), retraining in between.
/// </summary>
public sealed class PruningPhase(PruningSpec spec, Policy policy)
{
    private int _step;
    private readonly int _steps = Math.Max(1, policy.Epochs().Count());

    /// <summary>Parameters this phase prunes: weights (rank >= 2) not skipped by a rule.</summary>
    public static IEnumerable<string> Prunable(CompressionContext ctx, IReadOnlyList<LayerRule> rules)
        => ctx.Model.NamedParameters()
            .Where(p => p.Param.Rank >= 2 && !(LayerRule.First(rules, p.Name)?.Skip ?? false))
            .Select(p => p.Name);

    /// <summary>Decides targets (called once, before the first step).</summary>
    public void Plan(CompressionContext ctx)
    {
        var names = Prunable(ctx, spec.Layers).ToList();
        var auto = new List<string>();
        foreach (var n in names)
        {
            var rule = LayerRule.First(spec.Layers, n);
            var plan = ctx.Plans.TryGetValue(n, out var p) ? p : ctx.Plans[n] = new LayerPlan();
            if (rule?.Sparsity is double s) { plan.TargetSparsity = s; plan.Source = "override"; }
            else if (spec.Sparsity is double u) { plan.TargetSparsity = u; plan.Source = "fixed"; }
            else if (spec.Quality is double q)
            {
                var w = ctx.Param(n).Span;
                plan.TargetSparsity = 1.0 - MagnitudePruner.MaskForQuality(w, (float)q).Count(v => v != 0f) / (double)w.Length;
                plan.Source = $"quality {q}";
            }
            else auto.Add(n);
        }
        if (auto.Count == 0) return;
        var curves = SensitivityAnalysis.Run(ctx.Model, auto, ctx.ValidationAccuracy, log: ctx.Log);
        ctx.Trace.Sensitivity.AddRange(curves);
        var targets = AutoTargets.Choose(curves, ctx.NumClasses);
        foreach (var (n, s) in targets) { ctx.Plans[n].TargetSparsity = s; ctx.Plans[n].Source = "auto"; }
    }

    /// <summary>One pruning step (at a scheduled epoch).</summary>
    public void Step(CompressionContext ctx)
    {
        _step++;
        double frac = 1.0 - Math.Pow(1.0 - (double)_step / _steps, 3);
        foreach (var (name, plan) in ctx.Plans)
        {
            if (plan.TargetSparsity <= 0) continue;
            var w = ctx.Param(name);
            var mask = MagnitudePruner.MaskForSparsity(w.Span, plan.TargetSparsity * frac, ctx.Masks.Get(name));
            ctx.Masks.Set(name, mask);
        }
        ctx.Masks.ApplyToWeights(ctx.Model);
        if (!ctx.Callbacks.OfType<PruningCallback>().Any()) ctx.Callbacks.Add(new PruningCallback(ctx.Masks));
        ctx.Log($"prune step {_step}/{_steps}: " + string.Join(", ", ctx.Plans.Where(p => p.Value.TargetSparsity > 0)
            .Select(p => $"{p.Key} {ctx.Masks.Sparsity(p.Key):P1}")));
    }
}

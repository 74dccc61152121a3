using DeepShrink.Compression.Pruning;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Runs a <see cref="PruningSpec"/>: chooses per-layer targets (fixed, quality, a global params/bytes target,
/// or automatic), then prunes iteratively at each scheduled epoch following the cubic gradual schedule
/// s_i = s_f (1 - (1 - i/n)^3) (Zhu and Gupta 2017), retraining in between. Each step removes weights by the
/// spec's criterion: magnitude, layer-wise OBD, or layer-wise OBS, which also re-fits the surviving weights.
/// </summary>
public sealed class PruningPhase(PruningSpec spec, Policy policy, Recipe? recipe = null)
{
    private int _step;
    private readonly int _steps = Math.Max(1, policy.Epochs().Count());

    /// <summary>Parameters this phase prunes: weights (rank >= 2) not skipped by a rule.</summary>
    public static IEnumerable<string> Prunable(CompressionContext ctx, IReadOnlyList<LayerRule> rules)
        => ctx.Model.NamedParameters()
            .Where(p => p.Param.Rank >= 2 && !(LayerRule.First(rules, p.Name)?.Skip ?? false))
            .Select(p => p.Name);

    private static readonly ObsOptions StepObs = new() { BalanceRows = true };

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
        if (auto.Count == 0)
        {
            if (spec.Target is not null) throw new RecipeFormatException($"{spec.Name}: target {spec.Target} needs layers without a fixed sparsity to distribute it over");
            return;
        }
        var calibration = Calibration(ctx);
        var curves = LayerErrorCurves.Measure(ctx.Model, auto, calibration, keepSnapshots: spec.Target is null, log: ctx.Log);
        ctx.Trace.LayerError.AddRange(curves);
        var fixedTargets = ctx.Plans.Where(kv => kv.Value.Source is "override" or "fixed" || kv.Value.Source.StartsWith("quality", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value.TargetSparsity);
        Dictionary<string, double> targets;
        string source;
        if (spec.Target is { } target)
        {
            targets = TargetPlanner.Allocate(ctx, recipe, curves, fixedTargets, target);
            source = "target";
        }
        else
        {
            Func<double, double>? bytesAt = null;
            if (spec.TwoSided)
            {   // sized from the dense weights: the first call measures every encoded tensor's magnitude order now
                var size = new SizeModel(ctx.Model, recipe ?? new Recipe());
                bytesAt = level =>
                {
                    var all = GlobalAllocation.At(curves, level);
                    foreach (var (n, s) in fixedTargets) all.TryAdd(n, s);
                    return size.Bytes(all);
                };
                bytesAt(double.MaxValue);
            }
            var search = ctx.AutoLevels[spec.Name] = new AutoLevel(curves, spec.MaxDropPp, bytesAt);
            targets = ChooseLevel(ctx, search, curves);
            source = "auto";
        }
        foreach (var (n, s) in targets) { ctx.Plans[n].TargetSparsity = s; ctx.Plans[n].Source = source; }
    }

    private Dictionary<string, double> ChooseLevel(CompressionContext ctx, AutoLevel search, IReadOnlyList<LayerErrorCurve> curves)
    {
        var training = recipe?.Training ?? new TrainingSettings();
        var alloc = search.Choose(level => AutoLevel.ProbeDropPp(ctx, curves, level, training), ctx.Log);
        var all = new Dictionary<string, double>(alloc);
        foreach (var (n, p) in ctx.Plans) all.TryAdd(n, p.TargetSparsity);
        var size = new SizeModel(ctx.Model, recipe ?? new Recipe());
        ctx.Log($"auto level: " + string.Join(", ", alloc.Select(kv => $"{kv.Key} {kv.Value:P0}")) +
                $"; predicted {size.Bytes(all):N0} B ({size.DenseBytes / size.Bytes(all):F1}x, size model)");
        return alloc;
    }

    /// <summary>The first <see cref="PruningSpec.CalibrationSamples"/> training images, in whole batches.</summary>
    public List<Tensor> Calibration(CompressionContext ctx)
    {
        var res = new List<Tensor>();
        int n = 0;
        foreach (var (x, _) in ctx.TrainBatches(0))
        {
            if (n >= spec.CalibrationSamples) break;
            res.Add(x);
            n += x.Shape[0];
        }
        return res;
    }

    /// <summary>One pruning step (at a scheduled epoch).</summary>
    public void Step(CompressionContext ctx)
    {
        if (_step == 0 && ctx.AutoLevels.TryGetValue(spec.Name, out var search) && search.Pending)
        {   // a later attempt: the weights are the original ones again; the two-sided search has scheduled its level,
            // the probe back-off chooses it by probes
            var targets = search.Search is { Attempts.Count: > 0 } ? search.AttemptAllocation : ChooseLevel(ctx, search, search.Curves);
            search.Applied();
            foreach (var (n, s) in targets) ctx.Plans[n].TargetSparsity = s;
        }
        _step++;
        double frac = 1.0 - Math.Pow(1.0 - (double)_step / _steps, 3);
        var active = ctx.Plans.Where(p => p.Value.TargetSparsity > 0).Select(p => p.Key).ToList();
        var layers = active.ToDictionary(n => n, n => LayerErrorCurves.LayerOf(ctx.Model, n));
        var hessians = spec.Criterion == OneShotCriterion.Magnitude ? new Dictionary<string, LayerHessian>()
            : LayerCalibration.CollectHessians(ctx.Model, Calibration(ctx), layers.Values.Where(l => l is not null).Select(l => l!.Value.Layer).Distinct());
        foreach (var name in active)
        {
            double s = ctx.Plans[name].TargetSparsity * frac;
            var w = ctx.Param(name);
            var previous = ctx.Masks.Get(name);
            LayerHessian? h = layers[name] is { } l && hessians.TryGetValue(l.Layer, out var hh) && hh.Dim * w.Shape[0] == w.Size ? hh : null;
            float[] mask;
            if (h is null || spec.Criterion == OneShotCriterion.Magnitude)
                mask = MagnitudePruner.MaskForSparsity(w.Span, s, previous);
            else if (spec.Criterion == OneShotCriterion.Obs && h.Dim <= LayerErrorCurves.MaxObsDim)
            {
                // Removals distributed over the rows by their OBS loss (OBC's global selection, as the error curves that
                // chose the level were measured): a row of important inputs keeps more of them than a fixed per-row
                // sparsity would allow. Removals of earlier steps cost nothing, so masks only shrink and the layer hits s.
                var r = OptimalBrainSurgeon.Prune(w.ContiguousData().Span, w.Shape[0], h, s, StepObs);
                r.Weights.CopyTo(w.Span);
                mask = r.Mask;
            }
            else // obd, or obs on rows too long for the exact path
                mask = ScoreMasks.ForSparsity(OptimalBrainDamage.LayerwiseSaliency(w.ContiguousData().Span, h.Diagonal()), s);
            if (previous is not null) System.Numerics.Tensors.TensorPrimitives.Multiply(mask, previous, mask); // masks only shrink
            ctx.Masks.Set(name, mask);
        }
        ctx.Masks.ApplyToWeights(ctx.Model);
        if (!ctx.Callbacks.OfType<PruningCallback>().Any()) ctx.Callbacks.Add(new PruningCallback(ctx.Masks));
        ctx.Log($"prune step {_step}/{_steps} ({spec.Criterion}): " + string.Join(", ", active.Select(n => $"{n} {ctx.Masks.Sparsity(n):P1}")));
    }
}

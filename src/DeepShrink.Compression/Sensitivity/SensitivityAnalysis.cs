using DeepShrink.Compression.Jobs;
using DeepShrink.Compression.Pruning;
using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Sensitivity;

/// <summary>Accuracy of a model after pruning one layer to each sparsity of a grid (no retraining).</summary>
public sealed record SensitivityCurve(string Parameter, double[] Sparsities, double[] Accuracies, double BaselineAccuracy)
{
    /// <summary>Largest grid sparsity whose accuracy drop (fraction, e.g. 0.01 = 1 pp) is at most <paramref name="maxDrop"/>.</summary>
    public double MaxSparsityWithin(double maxDrop)
    {
        double best = 0;
        for (int i = 0; i < Sparsities.Length; i++)
            if (BaselineAccuracy - Accuracies[i] <= maxDrop) best = Math.Max(best, Sparsities[i]);
        return best;
    }
}

/// <summary>
/// Per-layer pruning sensitivity (Han et al. 2015, fig. 5): prune one layer at a time by magnitude
/// and measure accuracy; the other layers stay dense. Layers whose accuracy collapses early get
/// lower sparsity targets.
/// </summary>
public static class SensitivityAnalysis
{
    /// <summary>Default sparsity grid.</summary>
    public static readonly double[] DefaultGrid = { 0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99 };

    /// <summary>
    /// Measures a curve per parameter. <paramref name="evaluate"/> returns accuracy (0..1) of the
    /// model as it currently is; weights are restored after each probe.
    /// </summary>
    public static List<SensitivityCurve> Run(Module model, IEnumerable<string> parameters, Func<double> evaluate,
        double[]? grid = null, MaskSet? existing = null, Action<string>? log = null)
        => Run(model, parameters, _ => evaluate(), new JobPool(1), copy: null, grid, existing, log);

    /// <summary>
    /// Measures a curve per parameter, one job per parameter on <paramref name="pool"/> (the job abstraction the
    /// sweeps use). Worker 0 probes <paramref name="model"/> itself; each further worker probes its own copy from
    /// <paramref name="copy"/> (required when the pool has more than one worker). <paramref name="evaluate"/>
    /// returns the accuracy (0..1) of the model it is given as that model currently is; every probe restores the
    /// weights, so the curves do not depend on the number of workers.
    /// </summary>
    public static List<SensitivityCurve> Run(Module model, IEnumerable<string> parameters, Func<Module, double> evaluate, JobPool pool,
        Func<Module>? copy, double[]? grid = null, MaskSet? existing = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (pool.Workers > 1 && copy is null) throw new ArgumentException("a pool of several workers needs a model copy per worker", nameof(copy));
        var g = (double[])(grid ?? DefaultGrid).Clone();
        var names = parameters.ToList();
        var known = model.NamedParameters().Select(p => p.Name).ToHashSet();
        foreach (var n in names)
            if (!known.Contains(n)) throw new ArgumentException($"no parameter named '{n}'");
        double baseline = evaluate(model);
        // the copies are taken before any probe starts: worker 0 prunes the model itself in place, so a copy taken
        // while it probes would start from its pruned weights (a race that made the curves depend on timing)
        var copies = Enumerable.Range(1, Math.Max(0, Math.Min(pool.Workers, names.Count) - 1)).Select(_ => copy!()).ToArray();
        var curves = pool.Run<string, SensitivityCurve>(names, w =>
        {
            var m = w == 0 ? model : copies[w - 1];
            var byName = m.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
            return name => Probe(m, byName[name], name, g, existing, evaluate, baseline);
        });
        foreach (var c in curves)
            log?.Invoke($"sensitivity {c.Parameter}: " + string.Join(" ", g.Select((x, i) => $"{x:P0}:{c.Accuracies[i]:P1}")));
        return curves.ToList();
    }

    // One job: prune one parameter to each grid sparsity, evaluate, restore.
    private static SensitivityCurve Probe(Module model, Tensor p, string name, double[] grid, MaskSet? existing, Func<Module, double> evaluate, double baseline)
    {
        var saved = p.ToArray();
        var acc = new double[grid.Length];
        try
        {
            for (int i = 0; i < grid.Length; i++)
            {
                var mask = MagnitudePruner.MaskForSparsity(saved, grid[i], existing?.Get(name));
                var s = p.Span;
                for (int j = 0; j < s.Length; j++) s[j] = saved[j] * mask[j];
                acc[i] = evaluate(model);
            }
        }
        finally { saved.CopyTo(p.Span); }
        return new SensitivityCurve(name, (double[])grid.Clone(), acc, baseline);
    }
}

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
    {
        grid ??= DefaultGrid;
        var byName = model.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        double baseline = evaluate();
        var curves = new List<SensitivityCurve>();
        foreach (var name in parameters)
        {
            if (!byName.TryGetValue(name, out var p)) throw new ArgumentException($"no parameter named '{name}'");
            var saved = p.ToArray();
            var acc = new double[grid.Length];
            for (int i = 0; i < grid.Length; i++)
            {
                var mask = MagnitudePruner.MaskForSparsity(saved, grid[i], existing?.Get(name));
                var s = p.Span;
                for (int j = 0; j < s.Length; j++) s[j] = saved[j] * mask[j];
                acc[i] = evaluate();
            }
            saved.CopyTo(p.Span);
            curves.Add(new SensitivityCurve(name, (double[])grid.Clone(), acc, baseline));
            log?.Invoke($"sensitivity {name}: " + string.Join(" ", grid.Select((g, i) => $"{g:P0}:{acc[i]:P1}")));
        }
        return curves;
    }
}

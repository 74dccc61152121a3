using DeepShrink.Compression.Pruning;
using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// How much of one layer's output a one-shot pruning to each sparsity of a grid destroys: the relative
/// layer-wise error E(s) / E(1), with E(s) the Optimal Brain Surgeon loss 1/2 sum_rows dw^T H dw of the
/// pruned-and-refitted rows and E(1) = 1/2 sum_rows w^T H w (all weights removed), H = 2 X X^T / n.
/// </summary>
/// <param name="Parameter">Weight name (e.g. <c>fc1.weight</c>).</param>
/// <param name="Count">Number of weights.</param>
/// <param name="Sparsities">Ascending grid (first 0).</param>
/// <param name="RelativeError">Monotone non-decreasing relative error at each grid sparsity (0 at sparsity 0).</param>
/// <param name="Snapshots">One-shot pruned weights at each grid sparsity (null when not kept).</param>
public sealed record LayerErrorCurve(string Parameter, long Count, double[] Sparsities, double[] RelativeError, float[][]? Snapshots)
{
    /// <summary>
    /// The largest sparsity whose relative error is at most <paramref name="epsilon"/>: interpolated linearly
    /// between grid points, or (<paramref name="gridOnly"/>) the largest grid point.
    /// </summary>
    public double SparsityAt(double epsilon, bool gridOnly = false) => Interp(epsilon, gridOnly).Sparsity;

    /// <summary>Index of the largest grid point within <paramref name="epsilon"/>.</summary>
    public int GridIndexAt(double epsilon) => Interp(epsilon, true).Index;

    private (double Sparsity, int Index) Interp(double epsilon, bool gridOnly)
    {
        int i = 0;
        while (i + 1 < Sparsities.Length && RelativeError[i + 1] <= epsilon) i++;
        if (gridOnly || i + 1 >= Sparsities.Length) return (Sparsities[i], i);
        double e0 = RelativeError[i], e1 = RelativeError[i + 1];
        double t = e1 > e0 ? Math.Clamp((epsilon - e0) / (e1 - e0), 0, 1) : 0;
        return (Sparsities[i] + t * (Sparsities[i + 1] - Sparsities[i]), i);
    }
}

/// <summary>
/// Measures <see cref="LayerErrorCurve"/>s on calibration data: by layer-wise OBS (<see cref="OptimalBrainSurgeon"/>,
/// OBC's greedy path with the row budget balanced) for Linear/Conv2d layers of at most <see cref="MaxObsDim"/>
/// inputs per row, otherwise by the diagonal (OBD) estimate 1/2 h_jj w_qj^2 of the removed weights (h = 1 for
/// weights of other layer kinds, i.e. magnitude).
/// </summary>
public static class LayerErrorCurves
{
    /// <summary>Sparsity grid of the curves.</summary>
    public static readonly double[] Grid = [0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.88, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99];

    /// <summary>Rows longer than this use the diagonal estimate (the OBS path costs ~d^3/3 per row).</summary>
    public const int MaxObsDim = 1024;

    /// <summary>The Linear/Conv2d layer owning a weight name (<c>fc1.weight</c> -> fc1), or null.</summary>
    public static (string Layer, Module Module)? LayerOf(Module model, string parameter)
    {
        if (!parameter.EndsWith(".weight", StringComparison.Ordinal) && parameter != "weight") return null;
        string layer = parameter == "weight" ? "" : parameter[..^".weight".Length];
        var m = LayerCalibration.PrunableLayers(model).FirstOrDefault(l => l.Name == layer);
        return m.Layer is null ? null : (layer, m.Layer);
    }

    /// <summary>Curves for <paramref name="parameters"/> from the current (dense) weights of <paramref name="model"/>.</summary>
    public static List<LayerErrorCurve> Measure(Module model, IReadOnlyList<string> parameters, IReadOnlyList<Tensor> calibration,
        bool keepSnapshots, ObsOptions? obs = null, Action<string>? log = null)
    {
        var byName = model.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        var layers = parameters.Select(p => (Param: p, Layer: LayerOf(model, p))).ToList();
        var hessians = calibration.Count == 0 ? new Dictionary<string, LayerHessian>()
            : LayerCalibration.CollectHessians(model, calibration, layers.Where(l => l.Layer is not null).Select(l => l.Layer!.Value.Layer));
        var curves = new List<LayerErrorCurve>();
        foreach (var (param, layer) in layers)
        {
            if (!byName.TryGetValue(param, out var t)) throw new ArgumentException($"no parameter named '{param}'");
            var w = t.ContiguousData().ToArray();
            int rows = t.Shape[0];
            LayerHessian? h = layer is { } l && hessians.TryGetValue(l.Layer, out var hh) ? hh : null;
            var curve = h is not null && h.Dim <= MaxObsDim && h.Dim * rows == w.Length
                ? ObsCurve(param, w, rows, h, keepSnapshots, obs)
                : DiagonalCurve(param, w, h is not null && h.Dim * rows == w.Length ? h.Diagonal() : null, keepSnapshots);
            curves.Add(curve);
            log?.Invoke($"layer error {param}: " + string.Join(" ", curve.Sparsities.Select((s, i) => $"{s:P0}:{curve.RelativeError[i]:G2}")));
        }
        return curves;
    }

    private static LayerErrorCurve ObsCurve(string param, float[] w, int rows, LayerHessian h, bool keep, ObsOptions? obs)
    {
        var o = obs ?? new ObsOptions();
        var hm = h.Matrix();
        int d = h.Dim;
        double energy = 0;
        for (int r = 0; r < rows; r++)
        {
            var wr = w.AsSpan(r * d, d);
            for (int i = 0; i < d; i++)
            {
                if (wr[i] == 0f) continue;
                double acc = 0;
                for (int j = 0; j < d; j++) acc += hm[(long)i * d + j] * wr[j];
                energy += wr[i] * acc;
            }
        }
        energy *= 0.5;
        var levels = OptimalBrainSurgeon.PruneLevels(w, rows, OptimalBrainSurgeon.InverseHessian(hm, d, o.Damping), Grid, o);
        var rel = levels.Select(l => energy > 0 ? l.Loss / energy : 0).ToArray();
        return new LayerErrorCurve(param, w.Length, Grid, Monotone(rel), keep ? levels.Select(l => l.Weights).ToArray() : null);
    }

    private static LayerErrorCurve DiagonalCurve(string param, float[] w, double[]? diag, bool keep)
    {
        var sal = diag is null ? w.Select(v => 0.5 * v * v).ToArray() : OptimalBrainDamage.LayerwiseSaliency(w, diag);
        double energy = sal.Sum();
        var order = ScoreMasks.Ranking(sal);
        var rel = new double[Grid.Length];
        var snaps = keep ? new float[Grid.Length][] : null;
        double cum = 0;
        int taken = 0;
        for (int g = 0; g < Grid.Length; g++)
        {
            int n = (int)Math.Round(Grid[g] * w.Length);
            for (; taken < n; taken++) cum += sal[order[taken]];
            rel[g] = energy > 0 ? cum / energy : 0;
            if (snaps is not null)
            {
                var s = (float[])w.Clone();
                for (int k = 0; k < n; k++) s[order[k]] = 0f;
                snaps[g] = s;
            }
        }
        return new LayerErrorCurve(param, w.Length, Grid, Monotone(rel), snaps);
    }

    private static double[] Monotone(double[] e)
    {
        for (int i = 1; i < e.Length; i++) e[i] = Math.Max(e[i], e[i - 1]);
        return e;
    }
}

using System.Diagnostics;
using System.Globalization;
using DeepShrink.Compression.Pruning;
using DeepShrink.Core;
using DeepShrink.Nn;
using DeepShrink.Nn.Training;

namespace DeepShrink.Bench;

/// <summary>Accuracy of one pruning method at one sparsity.</summary>
/// <param name="Method">magnitude, obd (empirical Fisher), obd_layerwise (2 E[x^2]) or obs.</param>
/// <param name="Sparsity">Fraction of every prunable layer's weights removed.</param>
/// <param name="Accuracy">Test accuracy without retraining.</param>
/// <param name="Loss">Test cross-entropy.</param>
public sealed record OneShotPoint(string Method, double Sparsity, double Accuracy, double Loss);

/// <summary>Result of <see cref="OneShotPruningBench.Run"/>.</summary>
public sealed class OneShotPruningResult
{
    /// <summary>Accuracy of the unpruned model.</summary>
    public required double DenseAccuracy { get; init; }
    /// <summary>Every (method, sparsity) point.</summary>
    public required IReadOnlyList<OneShotPoint> Points { get; init; }
    /// <summary>Wall seconds: hessians (calibration), fisher, obs_{layer} (inverse + pruning at all sparsities) and obs_{layer}_cpu (process CPU seconds).</summary>
    public required IReadOnlyDictionary<string, double> Seconds { get; init; }
    /// <summary>Calibration samples used.</summary>
    public required int CalibrationSamples { get; init; }
    /// <summary>OBS settings.</summary>
    public required ObsOptions Obs { get; init; }

    /// <summary>Metrics with stable keys (e.g. <c>obs_s90_accuracy</c>, <c>seconds_obs_fc1</c>).</summary>
    public IEnumerable<KeyValuePair<string, object>> Metrics()
    {
        yield return new("dense_accuracy", Math.Round(DenseAccuracy, 6));
        yield return new("calibration_samples", CalibrationSamples);
        yield return new("obs_damping", Obs.Damping);
        yield return new("obs_balance_rows", Obs.BalanceRows);
        foreach (var p in Points)
        {
            string s = Math.Round(p.Sparsity * 100, 1).ToString(CultureInfo.InvariantCulture);
            yield return new($"{p.Method}_s{s}_accuracy", Math.Round(p.Accuracy, 6));
            yield return new($"{p.Method}_s{s}_loss", Math.Round(p.Loss, 6));
        }
        foreach (var (k, v) in Seconds) yield return new($"seconds_{k}", Math.Round(v, 3));
    }
}

/// <summary>
/// One-shot pruning without retraining: magnitude, Optimal Brain Damage (empirical Fisher and
/// layer-wise diagonal) and layer-wise Optimal Brain Surgeon at the same per-layer sparsity, each
/// layer's saliencies and Hessians taken from the dense model on the same calibration batches.
/// </summary>
public static class OneShotPruningBench
{
    /// <summary>Method names in table order.</summary>
    public static IReadOnlyList<string> Methods { get; } = new[] { "magnitude", "obd", "obd_layerwise", "obs" };

    /// <summary>Runs every method at every sparsity; the model's weights are restored afterwards.</summary>
    public static OneShotPruningResult Run(Module model, IReadOnlyList<(Tensor X, int[] Y)> calibration, IReadOnlyList<(Tensor X, int[] Y)> test,
        IReadOnlyList<double> sparsities, ObsOptions obs, TextWriter log)
    {
        var layers = LayerCalibration.PrunableLayers(model);
        if (layers.Count == 0) throw new ArgumentException("the model has no Linear or Conv2d layers to prune");
        var weights = layers.ToDictionary(l => l.Name, l => OneShotPruner.WeightOf(l.Layer));
        var dense = weights.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var seconds = new Dictionary<string, double>();
        var sw = Stopwatch.StartNew();
        var hessians = LayerCalibration.CollectHessians(model, calibration.Select(b => b.X));
        seconds["hessians"] = sw.Elapsed.TotalSeconds;
        log.WriteLine($"pruning: layer-wise Hessians of {layers.Count} layers from {hessians.First().Value.Samples:N0} input vectors of the first layer in {seconds["hessians"]:F2} s");
        sw.Restart();
        var fisher = EmpiricalFisher.Diagonal(model, calibration, layers.Select(l => ParamName(l.Name)));
        seconds["fisher"] = sw.Elapsed.TotalSeconds;
        log.WriteLine($"pruning: empirical Fisher diagonal (per-sample gradients) in {seconds["fisher"]:F2} s");

        var obsByLayer = new Dictionary<string, IReadOnlyList<ObsResult>>();
        foreach (var (name, _) in layers)
        {
            sw.Restart();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var h = hessians[name];
            var hinv = OptimalBrainSurgeon.InverseHessian(h.Matrix(), h.Dim, obs.Damping);
            obsByLayer[name] = OptimalBrainSurgeon.PruneLevels(dense[name], dense[name].Length / h.Dim, hinv, sparsities, obs);
            seconds[$"obs_{name}"] = sw.Elapsed.TotalSeconds;
            seconds[$"obs_{name}_cpu"] = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
            log.WriteLine($"pruning: OBS {name} ({dense[name].Length / h.Dim} x {h.Dim}) at {sparsities.Count} sparsities in {seconds[$"obs_{name}"]:F2} s ({seconds[$"obs_{name}_cpu"]:F2} s process CPU)");
        }

        double denseAcc = Trainer.Evaluate(model, test).Accuracy;
        var points = new List<OneShotPoint>();
        try
        {
            for (int l = 0; l < sparsities.Count; l++)
            {
                double s = sparsities[l];
                foreach (var method in Methods)
                {
                    foreach (var (name, _) in layers)
                    {
                        var w0 = dense[name];
                        float[] pruned = method switch
                        {
                            "magnitude" => Masked(w0, MagnitudePruner.MaskForSparsity(w0, s)),
                            "obd" => Masked(w0, OptimalBrainDamage.Mask(w0, fisher[ParamName(name)], s)),
                            "obd_layerwise" => Masked(w0, ScoreMasks.ForSparsity(OptimalBrainDamage.LayerwiseSaliency(w0, hessians[name].Diagonal()), s)),
                            _ => obsByLayer[name][l].Weights,
                        };
                        pruned.CopyTo(weights[name].Span);
                    }
                    var r = Trainer.Evaluate(model, test);
                    points.Add(new OneShotPoint(method, s, r.Accuracy, r.Loss));
                    log.WriteLine($"pruning: {method,-13} sparsity {s:P0}: test accuracy {r.Accuracy:P2}");
                }
            }
        }
        finally
        {
            foreach (var (name, w) in weights) dense[name].CopyTo(w.Span);
        }
        return new OneShotPruningResult { DenseAccuracy = denseAcc, Points = points, Seconds = seconds, CalibrationSamples = calibration.Sum(b => b.Y.Length), Obs = obs };
    }

    /// <summary>The table: one row per sparsity, one column per method.</summary>
    public static string Format(OneShotPruningResult r)
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"one-shot pruning, no retraining (dense test accuracy {r.DenseAccuracy:P2}, {r.CalibrationSamples} calibration images, OBS damping {r.Obs.Damping})");
        sb.AppendLine($"{"sparsity",-9}" + string.Concat(Methods.Select(m => $"{m,15}")));
        foreach (var g in r.Points.GroupBy(p => p.Sparsity))
            sb.AppendLine($"{g.Key,-9:P0}" + string.Concat(Methods.Select(m => $"{g.First(p => p.Method == m).Accuracy,15:P2}")));
        return sb.ToString();
    }

    private static string ParamName(string layer) => layer.Length == 0 ? "weight" : layer + ".weight";

    private static float[] Masked(float[] w, float[] mask)
    {
        var r = new float[w.Length];
        System.Numerics.Tensors.TensorPrimitives.Multiply(w, mask, r);
        return r;
    }
}

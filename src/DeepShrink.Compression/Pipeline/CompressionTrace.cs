using DeepShrink.Compression.Sensitivity;
using DeepShrink.Nn;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// What a compression run records for its report (<c>compress --json</c> key <c>trace</c>, the HTML report):
/// per-layer weight histograms at each stage, the sensitivity curves of automatic pruning, every retraining
/// epoch with its phase, and the final codebooks. Filled by <see cref="RecipeRunner"/> and the pruning phase;
/// reset at the start of every attempt except the sensitivity curves (measured once).
/// </summary>
public sealed class CompressionTrace
{
    /// <summary>Bins of each weight histogram.</summary>
    public int Bins { get; init; } = 64;

    /// <summary>Weight histograms of the last attempt in stage order: "input" at the first component's first step, "after C" when the next component starts (C: the one started before it, with its retraining), then "final".</summary>
    public List<WeightSnapshot> Snapshots { get; } = new();

    /// <summary>Sensitivity curves measured for automatic pruning targets (accuracy against sparsity, no retraining).</summary>
    public List<SensitivityCurve> Sensitivity { get; } = new();
    /// <summary>Per-layer error curves of the automatic allocation (relative output error of each layer pruned alone against sparsity).</summary>
    public List<LayerErrorCurve> LayerError { get; } = new();

    /// <summary>Every retraining epoch of every attempt with the phase it belongs to (the component that acted last).</summary>
    public List<TraceEpoch> Epochs { get; } = new();

    /// <summary>Final codebook centroids by parameter name (weight sharing).</summary>
    public Dictionary<string, float[]> Codebooks { get; } = new();

    /// <summary>As a JSON-friendly dictionary (stable keys, docs/CLI.md <c>trace</c>).</summary>
    public Dictionary<string, object> ToDictionary() => new()
    {
        ["snapshots"] = Snapshots.Select(s => new Dictionary<string, object>
        {
            ["stage"] = s.Stage,
            ["layers"] = s.Layers.Select(h => new Dictionary<string, object>
            {
                ["name"] = h.Name, ["count"] = h.Count, ["zeros"] = h.Zeros, ["min"] = h.Min, ["max"] = h.Max, ["counts"] = h.Counts,
            }).ToList(),
        }).ToList(),
        ["sensitivity"] = Sensitivity.Select(c => new Dictionary<string, object>
        {
            ["parameter"] = c.Parameter, ["baseline_accuracy"] = Math.Round(c.BaselineAccuracy, 6),
            ["sparsities"] = c.Sparsities, ["accuracies"] = c.Accuracies.Select(a => Math.Round(a, 6)).ToArray(),
        }).ToList(),
        ["layer_error"] = LayerError.Select(c => new Dictionary<string, object>
        {
            ["parameter"] = c.Parameter, ["sparsities"] = c.Sparsities, ["relative_error"] = c.RelativeError.Select(e => Math.Round(e, 6)).ToArray(),
        }).ToList(),
        ["epochs"] = Epochs.Select(e => new Dictionary<string, object>
        {
            ["attempt"] = e.Attempt, ["phase"] = e.Phase, ["epoch"] = e.Stats.Epoch + 1, ["loss"] = e.Stats.Loss,
            ["train_accuracy"] = e.Stats.TrainAccuracy, ["lr"] = e.Stats.LearningRate, ["seconds"] = Math.Round(e.Stats.Seconds, 2),
        }).ToList(),
        ["codebooks"] = Codebooks.ToDictionary(kv => kv.Key, kv => (object)kv.Value),
    };

    /// <summary>Records the histograms of every weight (rank &gt;= 2) of <paramref name="model"/> as stage <paramref name="stage"/>.</summary>
    public void Snapshot(string stage, Module model)
    {
        var layers = model.NamedParameters().Where(p => p.Param.Rank >= 2)
            .Select(p => WeightHistogram.Of(p.Name, p.Param.Span, Bins)).ToList();
        Snapshots.Add(new WeightSnapshot(stage, layers));
    }
}

/// <summary>Histograms of the weights at one stage of a run.</summary>
public sealed record WeightSnapshot(string Stage, IReadOnlyList<WeightHistogram> Layers);

/// <summary>One retraining epoch: attempt, phase (the component that acted last), and the trainer's statistics.</summary>
public sealed record TraceEpoch(int Attempt, string Phase, EpochStats Stats);

/// <summary>
/// Histogram of one tensor's nonzero values over [<see cref="Min"/>, <see cref="Max"/>] in equal bins; exact zeros
/// (pruned weights) are counted apart in <see cref="Zeros"/> so that they do not hide the distribution.
/// </summary>
public sealed record WeightHistogram(string Name, long Count, long Zeros, double Min, double Max, long[] Counts)
{
    /// <summary>Counts <paramref name="values"/> into <paramref name="bins"/> bins.</summary>
    public static WeightHistogram Of(string name, ReadOnlySpan<float> values, int bins)
    {
        if (bins < 1) throw new ArgumentOutOfRangeException(nameof(bins), "bins must be at least 1");
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        long zeros = 0;
        foreach (var v in values)
        {
            if (v == 0f) { zeros++; continue; }
            if (!float.IsFinite(v)) continue;
            min = Math.Min(min, v); max = Math.Max(max, v);
        }
        var counts = new long[bins];
        if (zeros == values.Length || double.IsInfinity(min)) return new WeightHistogram(name, values.Length, zeros, 0, 0, counts);
        double width = max > min ? (max - min) / bins : 1;
        foreach (var v in values)
        {
            if (v == 0f || !float.IsFinite(v)) continue;
            counts[Math.Clamp((int)((v - min) / width), 0, bins - 1)]++;
        }
        return new WeightHistogram(name, values.Length, zeros, min, max, counts);
    }

    /// <summary>Centre of bin <paramref name="i"/>.</summary>
    public double Center(int i) => Min + (i + 0.5) * (Max > Min ? (Max - Min) / Counts.Length : 1);
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using DeepShrink.Compression;
using DeepShrink.Runtime;

namespace DeepShrink.Report;

/// <summary>
/// Writes one self-contained HTML compression report (figures embedded as PNG <c>data:</c> URIs, no scripts, no
/// network): key numbers and command of each run, energy and bandwidth estimates, per-layer weight histograms,
/// sensitivity curves, bytes per layer, accuracy against size and latency (Pareto), and the training curves.
/// </summary>
public static class HtmlReport
{
    /// <summary>Options of a report.</summary>
    public sealed record Options
    {
        /// <summary>Measure the batch-1 latency of every run's .dsz with the runtime (for the latency Pareto plot).</summary>
        public bool MeasureLatency { get; init; } = true;
        /// <summary>Time spent per model on the latency probe.</summary>
        public double LatencySeconds { get; init; } = 0.5;
        /// <summary>Largest number of layers drawn as histograms per run (the largest layers first).</summary>
        public int MaxHistogramLayers { get; init; } = 12;
    }

    /// <summary>Renders <paramref name="runs"/> into <paramref name="outPath"/> (written atomically); returns the figures drawn.</summary>
    public static IReadOnlyList<Figure> Write(IReadOnlyList<RunData> runs, string outPath, Options? options = null)
    {
        if (runs.Count == 0) throw new ArgumentException("a report needs at least one run or model file");
        options ??= new Options();
        if (options.MeasureLatency)
            foreach (var r in runs) if (r.LatencyMs is null && r.ModelPath is { } p && File.Exists(p) && DeepShrink.Nn.IO.ModelIO.IsDsz(p)) MeasureLatency(r, p, options.LatencySeconds);
        var figures = new List<Figure>();
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>DeepShrink compression report</title>\n<style>")
            .Append("body{font-family:sans-serif;margin:2em;max-width:1600px}table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}")
            .Append("figure{display:inline-block;margin:0.5em}figcaption{font-size:0.85em;max-width:760px}code{background:#f4f4f4;padding:2px 4px;word-break:break-all}.note{font-size:0.85em;color:#444}")
            .Append("</style></head><body>\n<h1>DeepShrink compression report</h1>\n");
        html.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">{runs.Count} run(s); generated {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. Self-contained: every figure is embedded.</p>\n");

        var sizePoints = new List<(string, double, double, bool)>();
        var latencyPoints = new List<(string, double, double, bool)>();
        foreach (var r in runs)
        {
            if (r.Accuracy is double a && r.CompressedBytes is long cb) sizePoints.Add((r.Name, cb / 1024.0, a, false));
            if (r.BaselineAccuracy is double b && r.DenseBytes is long db) sizePoints.Add(($"dense: {r.Name}", db / 1024.0, b, true));
            if (r.Accuracy is double a2 && r.LatencyMs is double ms) latencyPoints.Add((r.Name, ms, a2, false));
        }
        if (sizePoints.Count > 0 || latencyPoints.Count > 0)
        {
            html.Append("<h2>Accuracy against size and latency</h2>\n");
            if (sizePoints.Count > 0) AddFigure(html, figures, Plots.Pareto("pareto-size", "compressed size (KiB)", sizePoints));
            if (latencyPoints.Count > 0) AddFigure(html, figures, Plots.Pareto("pareto-latency", "latency per image, batch 1 (ms)", latencyPoints));
        }

        foreach (var r in runs) WriteRun(html, figures, r, options);
        html.Append("</body></html>\n");
        Format.AtomicFile.WriteAllBytes(outPath, Encoding.UTF8.GetBytes(html.ToString()));
        return figures;
    }

    private static void WriteRun(StringBuilder html, List<Figure> figures, RunData r, Options options)
    {
        html.Append($"<h2>{E(r.Name)}</h2>\n");
        if (r.Command is not null) html.Append($"<p>Command: <code>{E(r.Command)}</code></p>\n");
        html.Append("<table>");
        foreach (var (k, v) in r.KeyNumbers) html.Append($"<tr><th>{E(k)}</th><td>{E(v)}</td></tr>");
        if (r.LatencyMs is double ms) html.Append(CultureInfo.InvariantCulture, $"<tr><th>latency_ms (batch 1, median)</th><td>{ms:F4} (load {E(r.LatencyLoad ?? "?")})</td></tr>");
        html.Append("</table>\n");
        if (r.EnergyDense is not null && r.EnergyCompressed is not null) WriteEnergy(html, r.EnergyDense, r.EnergyCompressed);

        var final = r.Snapshots.Count > 0 ? r.Snapshots[^1] : null;
        if (final is not null)
        {
            html.Append("<h3>Weight histograms</h3>\n");
            foreach (var layer in final.Layers.OrderByDescending(h => h.Count).Take(options.MaxHistogramLayers).Select(h => h.Name).OrderBy(n => final.Layers.ToList().FindIndex(h => h.Name == n)))
            {
                var stages = new List<(string, Compression.Pipeline.WeightHistogram)>();
                foreach (var s in r.Snapshots)
                    if (s.Layers.FirstOrDefault(h => h.Name == layer) is { } h && (stages.Count == 0 || !SameHistogram(stages[^1].Item2, h)))
                        stages.Add((s.Stage, h));
                AddFigure(html, figures, Plots.Histogram(layer, stages, r.Codebooks.GetValueOrDefault(layer)));
            }
        }
        if (r.Sensitivity.Count > 0) { html.Append("<h3>Sensitivity</h3>\n"); AddFigure(html, figures, Plots.Sensitivity(r.Sensitivity)); }
        if (r.LayerError.Count > 0) { html.Append("<h3>Sensitivity</h3>\n"); AddFigure(html, figures, Plots.LayerError(r.LayerError)); }
        if (r.Tensors.Count > 0) { html.Append("<h3>Bytes per layer</h3>\n"); foreach (var f in Plots.Bytes(r.Tensors, r.ContainerBytes)) AddFigure(html, figures, f); }
        if (r.Epochs.Count > 0) { html.Append("<h3>Retraining</h3>\n"); AddFigure(html, figures, Plots.Training(r.Name, r.Epochs)); }
    }

    private static bool SameHistogram(Compression.Pipeline.WeightHistogram a, Compression.Pipeline.WeightHistogram b)
        => a.Zeros == b.Zeros && a.Min == b.Min && a.Max == b.Max && a.Counts.AsSpan().SequenceEqual(b.Counts);

    private static void WriteEnergy(StringBuilder html, JsonObject dense, JsonObject compressed)
    {
        html.Append("<h3>Energy and bandwidth per inference (estimate)</h3>\n<table><tr><th></th><th>dense fp32</th><th>as stored</th></tr>");
        foreach (var key in new[] { "weight_bytes_fetched", "macs_by_precision", "compute_uj", "weights_dram_uj", "weights_sram_uj", "total_dram_uj", "total_sram_uj" })
            html.Append($"<tr><th>{E(key)}</th><td>{E(dense[key]?.ToJsonString() ?? "")}</td><td>{E(compressed[key]?.ToJsonString() ?? "")}</td></tr>");
        html.Append($"</table>\n<p class=\"note\">Cost model: {E(EnergyEstimate.Assumptions)}.</p>\n");
    }

    private static void AddFigure(StringBuilder html, List<Figure> figures, Figure f)
    {
        figures.Add(f);
        html.Append(CultureInfo.InvariantCulture,
            $"<figure><img data-plot=\"{E(f.Kind)}\" width=\"{f.Width}\" height=\"{f.Height}\" alt=\"{E(f.Caption)}\" src=\"data:image/png;base64,{Convert.ToBase64String(f.Png)}\"><figcaption>{E(f.Caption)}</figcaption></figure>\n");
    }

    /// <summary>Median time of one batch-1 inference of the .dsz at <paramref name="path"/> with the runtime, over about <paramref name="seconds"/>.</summary>
    public static void MeasureLatency(RunData run, string path, double seconds)
    {
        var model = InferenceModel.Load(path);
        var input = new float[model.InputSize];
        var rng = new Random(1);
        for (int i = 0; i < input.Length; i++) input[i] = (float)(rng.NextDouble() * 2 - 1);
        var output = new float[model.OutputSize];
        for (int i = 0; i < 5; i++) model.Run(input, 1, output);
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds || times.Count < 11)
        {
            long t0 = Stopwatch.GetTimestamp();
            model.Run(input, 1, output);
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            if (times.Count >= 100_000) break;
        }
        times.Sort();
        run.LatencyMs = times[times.Count / 2];
        run.LatencyLoad = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : null;
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);
}

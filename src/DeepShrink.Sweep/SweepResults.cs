using System.Globalization;
using System.Text;
using System.Text.Json;
using DeepShrink.Format;

namespace DeepShrink.Sweep;

/// <summary>
/// The results folder: <c>points/ID.json</c> (+ <c>points/ID.dsz</c>) per point, written atomically once;
/// <c>summary.csv</c> and <c>pareto.csv</c> / <c>pareto.json</c> rewritten from them. Points already there are
/// kept and not run again (resume), whatever process wrote them.
/// </summary>
public sealed class SweepResults
{
    private readonly Dictionary<string, PointResult> _done = new(StringComparer.Ordinal);

    /// <summary>Opens (creates) <paramref name="outDir"/> and reads the results already there.</summary>
    public SweepResults(string outDir)
    {
        OutDir = outDir;
        Directory.CreateDirectory(PointsDir);
        foreach (var f in Directory.EnumerateFiles(PointsDir, "*.json"))
        {
            PointResult? r;
            try { r = JsonSerializer.Deserialize<PointResult>(File.ReadAllText(f), SweepJson.Options); }
            catch (JsonException e) { throw new SweepSpecException($"{f} is not a sweep result ({e.Message}); remove it to rerun that point"); }
            if (r is not null && Path.GetFileNameWithoutExtension(f) == r.Id) _done[r.Id] = r;
        }
    }

    /// <summary>The results folder.</summary>
    public string OutDir { get; }
    /// <summary>Per-point files.</summary>
    public string PointsDir => Path.Combine(OutDir, "points");
    /// <summary>Results present (by job id).</summary>
    public IReadOnlyDictionary<string, PointResult> Done => _done;
    /// <summary>Where a point's .dsz goes.</summary>
    public string DszPath(string id) => Path.Combine(PointsDir, id + ".dsz");
    /// <summary>Where a result's .dsz is: <c>ID.dsz</c>, or <c>ID.over-budget.dsz</c> when it missed its budget.</summary>
    public string DszPathOf(PointResult r) => r.BudgetMet ? DszPath(r.Id) : Compression.Compressor.BesidePath(DszPath(r.Id));

    /// <summary>Records a finished point once: a second result for the same id is ignored (returns false).</summary>
    public bool Add(PointResult r, byte[]? dsz = null)
    {
        if (_done.ContainsKey(r.Id)) return false;
        if (dsz is not null) AtomicFile.WriteAllBytes(DszPathOf(r), dsz);
        AtomicFile.WriteAllBytes(Path.Combine(PointsDir, r.Id + ".json"), JsonSerializer.SerializeToUtf8Bytes(r, SweepJson.Options));
        _done[r.Id] = r;
        return true;
    }

    /// <summary>Writes summary.csv and the Pareto front for the given jobs' results (grid order).</summary>
    public IReadOnlyList<PointResult> WriteSummary(IReadOnlyList<PointJob> jobs)
    {
        var rows = jobs.Where(j => _done.ContainsKey(j.Id)).Select(j => _done[j.Id] with { Index = j.Index }).ToList();
        var axes = jobs.Count == 0 ? new List<string>() : jobs[0].Axes.Keys.ToList();
        AtomicFile.WriteAllBytes(Path.Combine(OutDir, "summary.csv"), Encoding.UTF8.GetBytes(Csv(rows, axes)));
        var front = ParetoFront(rows);
        AtomicFile.WriteAllBytes(Path.Combine(OutDir, "pareto.csv"), Encoding.UTF8.GetBytes(Csv(front, axes)));
        AtomicFile.WriteAllBytes(Path.Combine(OutDir, "pareto.json"), JsonSerializer.SerializeToUtf8Bytes(front, SweepJson.Options));
        return front;
    }

    /// <summary>
    /// Points within their budget that no other such point dominates on (compressed bytes ↓, compressed accuracy ↑,
    /// latency ↓): at least as good on all three and better on one. Latency is left out when it was not measured.
    /// </summary>
    public static List<PointResult> ParetoFront(IReadOnlyList<PointResult> rows)
    {
        var ok = rows.Where(r => r.BudgetMet).ToList();
        static bool Dominates(PointResult a, PointResult b)
            => a.CompressedBytes <= b.CompressedBytes && a.CompressedAccuracy >= b.CompressedAccuracy && a.LatencyMs <= b.LatencyMs
               && (a.CompressedBytes < b.CompressedBytes || a.CompressedAccuracy > b.CompressedAccuracy || a.LatencyMs < b.LatencyMs);
        return ok.Where(r => !ok.Any(o => Dominates(o, r))).OrderBy(r => r.CompressedBytes).ToList();
    }

    private static string Csv(IEnumerable<PointResult> rows, IReadOnlyList<string> axes)
    {
        static string Q(string s) => s.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
        static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(",", new[] { "index", "id" }.Concat(axes).Concat(new[]
        {
            "budget_met", "baseline_accuracy", "compressed_accuracy", "accuracy_drop_pp", "dense_bytes", "compressed_bytes", "ratio",
            "latency_ms", "seconds", "threads", "worker", "dsz_sha256",
        }).Select(Q)));
        foreach (var r in rows)
            sb.AppendLine(string.Join(",", new[] { r.Index.ToString(CultureInfo.InvariantCulture), r.Id }
                .Concat(axes.Select(a => r.Axes.TryGetValue(a, out var v) ? v : ""))
                .Concat(new[]
                {
                    r.BudgetMet ? "true" : "false", N(r.BaselineAccuracy), N(r.CompressedAccuracy), N(r.AccuracyDropPp),
                    r.DenseBytes.ToString(CultureInfo.InvariantCulture), r.CompressedBytes.ToString(CultureInfo.InvariantCulture), N(r.Ratio),
                    N(r.LatencyMs), N(r.Seconds), r.Threads.ToString(CultureInfo.InvariantCulture), r.Worker, r.DszSha256,
                }).Select(Q)));
        return sb.ToString();
    }
}

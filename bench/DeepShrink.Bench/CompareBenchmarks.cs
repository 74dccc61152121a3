using DeepShrink.Core;
using DeepShrink.Format;
using DeepShrink.Nn.IO;
using DeepShrink.Onnx;
using DeepShrink.Runtime;

namespace DeepShrink.Bench;

/// <summary>How a model file is stored, which decides how <see cref="CompareBenchmarks"/> runs it.</summary>
public enum CompareKind
{
    /// <summary>A dense checkpoint (.safetensors): our runtime with dense kernels, ONNX Runtime on an export.</summary>
    Checkpoint,
    /// <summary>A .dsz container: our runtime on the file (kernels chosen at load), ONNX Runtime on its export.</summary>
    Dsz,
    /// <summary>An ONNX file: our runtime on the imported graph (dense), ONNX Runtime on the file as is.</summary>
    Onnx,
}

/// <summary>One side of a comparison: the file, its kind and the model loaded as a trainable graph.</summary>
/// <param name="Path">The model file.</param>
/// <param name="Kind">How it is stored.</param>
/// <param name="Model">The file loaded as a trainable graph model (weights for the dense runtime and the export).</param>
public sealed record CompareSide(string Path, CompareKind Kind, LoadedModel Model);

/// <summary>Settings of <see cref="CompareBenchmarks.Run"/>.</summary>
public sealed class CompareOptions
{
    /// <summary>Threads of all four engines.</summary>
    public int Threads { get; init; } = 2;
    /// <summary>Interleaved rounds per measurement.</summary>
    public int Rounds { get; init; } = 9;
    /// <summary>Measuring time per engine and measurement, seconds.</summary>
    public double Seconds { get; init; } = 2.0;
    /// <summary>Throughput batch.</summary>
    public int Batch { get; init; } = 8;
    /// <summary>Input samples, at least <see cref="Batch"/> of the models' input shape.</summary>
    public required float[] Inputs { get; init; }
    /// <summary>Where the inputs come from (reported).</summary>
    public string InputSource { get; init; } = "";
    /// <summary>Progress lines (stderr), or null.</summary>
    public TextWriter? Log { get; init; }
    /// <summary>Also time every step of our runtime and every node of ONNX Runtime at batch 1 (key <c>profile</c>).</summary>
    public bool Profile { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for impossible settings.</summary>
    public void Validate()
    {
        if (Threads < 1) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "--threads must be >= 1");
        if (Rounds < 1) throw new ArgumentOutOfRangeException(nameof(Rounds), Rounds, "--rounds must be >= 1");
        if (!(Seconds > 0) || double.IsInfinity(Seconds)) throw new ArgumentOutOfRangeException(nameof(Seconds), Seconds, "--seconds must be > 0");
        if (Batch < 1) throw new ArgumentOutOfRangeException(nameof(Batch), Batch, "--batch must be >= 1");
    }
}

/// <summary>
/// <c>bench compare</c>: two model files (baseline and candidate) in our runtime and in ONNX Runtime (the ONNX
/// form of each, exported to a temporary file when the file is not ONNX), same threads, same inputs, batch 1 and
/// batch B timed interleaved round by round (<see cref="ModelTiming.Rounds"/>, medians over rounds).
/// </summary>
/// <remarks>
/// Ratios are medians of per-round paired ratios (<see cref="ModelTiming.PairedRatio"/>): <c>b1_speedup</c> is
/// baseline / candidate in our runtime (above 1: the candidate is faster); <c>candidate_b1_vs_ort_*</c> is ours
/// (candidate) / ONNX Runtime (below 1: ours is faster). Sizes, parameters and FLOPs are added by the caller.
/// </remarks>
public static class CompareBenchmarks
{
    /// <summary>Loads the four engines, checks outputs and times them; returns the metrics (keys in docs/CLI.md).</summary>
    public static Dictionary<string, object?> Run(CompareSide baseline, CompareSide candidate, CompareOptions opts)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(opts);
        opts.Validate();
        var r = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["baseline"] = baseline.Path, ["candidate"] = candidate.Path,
            ["baseline_kind"] = baseline.Kind.ToString().ToLowerInvariant(), ["candidate_kind"] = candidate.Kind.ToString().ToLowerInvariant(),
            ["threads"] = opts.Threads, ["batch"] = opts.Batch, ["rounds"] = opts.Rounds, ["seconds"] = opts.Seconds,
            ["inputs"] = opts.InputSource, ["load_avg_1m_start"] = LoadAverage(),
        };
        string work = Directory.CreateTempSubdirectory("dscompare-").FullName;
        try
        {
            string ortPathB = OnnxPath(baseline, Path.Combine(work, "baseline.onnx"));
            using var ortB = new OnnxSession(ortPathB, opts.Threads);
            string onnxC = OnnxPath(candidate, Path.Combine(work, "candidate.onnx"));
            using var ortC = new OnnxSession(onnxC, opts.Threads);
            var ours = new[] { Ours(baseline, opts.Threads), Ours(candidate, opts.Threads) };
            if (!ours[0].InputShape.SequenceEqual(ours[1].InputShape))
                throw new ArgumentException($"the models take different inputs: baseline [{string.Join(", ", ours[0].InputShape)}], candidate [{string.Join(", ", ours[1].InputShape)}]");
            int sample = ours[0].InputSize, big = opts.Batch;
            if (opts.Inputs.Length < big * sample)
                throw new ArgumentException($"{opts.Inputs.Length} input values, batch {big} x {sample} needs {big * sample}");
            var xs = opts.Inputs[..(big * sample)];
            var x1 = xs[..sample];
            r["input_shape"] = $"[{string.Join(", ", ours[0].InputShape)}]";
            r["image_size"] = ours[0].InputShape.Count == 3 ? ours[0].InputShape[2] : null;

            int[] outB = ours[0].OutputShape.ToArray(), outC = ours[1].OutputShape.ToArray();
            var yB = new float[big * ours[0].OutputSize];
            var yC = new float[big * ours[1].OutputSize];
            var yOrtB = new float[yB.Length];
            var yOrtC = new float[yC.Length];
            ours[0].Run(xs, big, yB); ours[1].Run(xs, big, yC);
            ortB.Run(xs, big, yOrtB, outB); ortC.Run(xs, big, yOrtC, outC);
            r["output_max_abs_diff"] = outB.SequenceEqual(outC) ? MaxAbsDiff(yC, yB) : null;
            r["baseline_vs_ort_max_abs_diff"] = MaxAbsDiff(yB, yOrtB);
            r["candidate_vs_ort_max_abs_diff"] = MaxAbsDiff(yC, yOrtC);

            float[] b1B = new float[ours[0].OutputSize], b1C = new float[ours[1].OutputSize];
            Action[] one =
            [
                () => ours[0].Run(x1, 1, b1B), () => ours[1].Run(x1, 1, b1C),
                () => ortB.Run(x1, 1, b1B, outB), () => ortC.Run(x1, 1, b1C, outC),
            ];
            Action[] many =
            [
                () => ours[0].Run(xs, big, yB), () => ours[1].Run(xs, big, yC),
                () => ortB.Run(xs, big, yOrtB, outB), () => ortC.Run(xs, big, yOrtC, outC),
            ];
            opts.Log?.WriteLine($"bench compare: batch 1, {opts.Rounds} rounds, {opts.Threads} threads");
            var trips = new List<double?> { CoreTrip(opts) };
            Timings(r, "b1", ModelTiming.Rounds(one, opts.Seconds, opts.Rounds));
            trips.Add(CoreTrip(opts));
            opts.Log?.WriteLine($"bench compare: batch {big}");
            Timings(r, $"b{big}", ModelTiming.Rounds(many, opts.Seconds, opts.Rounds));
            trips.Add(CoreTrip(opts));
            r["core_round_trip_ns"] = trips.All(t => t is null) ? null : trips;
            CpuTime(r, candidate, onnxC, x1, outC, opts);
            if (opts.Profile)
            {
                opts.Log?.WriteLine("bench compare: per-step profile at batch 1");
                r["profile"] = ProfileRows(("baseline", ours[0], ortPathB, outB), ("candidate", ours[1], onnxC, outC), x1, opts);
            }
            r[$"baseline_b{big}_images_per_thread"] = ours[0].ImagesPerThreadAt(big);
            r[$"candidate_b{big}_images_per_thread"] = ours[1].ImagesPerThreadAt(big);
            r["baseline_runtime_weight_bytes"] = ours[0].WeightBytes;
            r["candidate_runtime_weight_bytes"] = ours[1].WeightBytes;
        }
        finally { Directory.Delete(work, recursive: true); }
        r["load_avg_1m_end"] = LoadAverage();
        return r;
    }

    /// <summary>
    /// The candidate in our runtime and in ONNX Runtime, each on one thread, batch 1, timed on this process's CPU clock
    /// (interleaved, fastest of the rounds): the work per inference, little affected by other processes sharing the cores.
    /// Keys <c>cpu1t_candidate_b1_ms</c>, <c>cpu1t_ort_candidate_b1_ms</c>, <c>cpu1t_candidate_b1_vs_ort_candidate</c> (paired).
    /// </summary>
    private static void CpuTime(Dictionary<string, object?> r, CompareSide candidate, string onnx, float[] x1, int[] outShape, CompareOptions opts)
    {
        var ours = Ours(candidate, 1);
        using var ort = new OnnxSession(onnx, 1);
        var y = new float[ours.OutputSize];
        List<double> a = [], b = [];
        for (int round = 0; round < Math.Max(3, opts.Rounds / 3); round++)
        {
            a.Add(BenchStats.Measure(() => ours.Run(x1, 1, y), 3, 0.05, clock: BenchClock.ProcessCpu).Median);
            // Park: a worker of ours still waiting would charge its CPU time to ONNX Runtime on the process clock
            b.Add(BenchStats.Measure(() => { WorkerPool.Park(); ort.Run(x1, 1, y, outShape); }, 3, 0.05, clock: BenchClock.ProcessCpu).Median);
        }
        r["cpu1t_clock"] = BenchClocks.Effective(BenchClock.ProcessCpu).ToString();
        r["cpu1t_candidate_b1_ms"] = a.Min() * 1000;
        r["cpu1t_ort_candidate_b1_ms"] = b.Min() * 1000;
        r["cpu1t_candidate_b1_vs_ort_candidate"] = ModelTiming.PairedRatio(a.ToArray(), b.ToArray());
    }

    /// <summary>
    /// Batch-1 time of every step of our runtime (<see cref="InferenceModel.Profile"/>) and of every node of ONNX Runtime
    /// (its profiler, <see cref="OnnxSession.ProfileNodes"/>) for both sides, as rows {side, engine, step, op, detail, us}.
    /// Steps after our fusions and nodes after ONNX Runtime's need not pair one to one; the totals compare.
    /// </summary>
    private static List<Dictionary<string, object>> ProfileRows((string Side, InferenceModel Ours, string Onnx, int[] OutShape) a,
        (string Side, InferenceModel Ours, string Onnx, int[] OutShape) b, float[] x1, CompareOptions opts)
    {
        const int calls = 41;
        var rows = new List<Dictionary<string, object>>();
        foreach (var (side, ours, onnx, outShape) in new[] { a, b })
        {
            foreach (var s in ours.Profile(x1, 1, calls))
                rows.Add(new() { ["side"] = side, ["engine"] = "ours", ["step"] = s.Name, ["op"] = s.Op, ["detail"] = s.Detail, ["us"] = s.MedianMicros });
            foreach (var (node, op, us) in OnnxSession.ProfileNodes(onnx, opts.Threads, x1, 1, outShape, calls))
                rows.Add(new() { ["side"] = side, ["engine"] = "onnxruntime", ["step"] = node, ["op"] = op, ["detail"] = "", ["us"] = us });
        }
        return rows;
    }

    /// <summary>A small fixed-width table of the main keys.</summary>
    public static string Format(IReadOnlyDictionary<string, object?> m, int batch = 8)
    {
        ArgumentNullException.ThrowIfNull(m);
        string F(string k, string fmt = "F3") => m.TryGetValue(k, out var v) && v is not null
            ? v is double d ? d.ToString(fmt, System.Globalization.CultureInfo.InvariantCulture) : Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!
            : "-";
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"{"",-22} {"baseline",14} {"candidate",14} {"ratio (b/c)",12}");
        sb.AppendLine($"{"ours b1 ms",-22} {F("baseline_b1_ms"),14} {F("candidate_b1_ms"),14} {F("b1_speedup"),12}");
        sb.AppendLine($"{$"ours b{batch} ms",-22} {F($"baseline_b{batch}_ms"),14} {F($"candidate_b{batch}_ms"),14} {F($"b{batch}_speedup"),12}");
        sb.AppendLine($"{"onnxruntime b1 ms",-22} {F("ort_baseline_b1_ms"),14} {F("ort_candidate_b1_ms"),14} {F("ort_b1_speedup"),12}");
        sb.AppendLine($"{$"onnxruntime b{batch} ms",-22} {F($"ort_baseline_b{batch}_ms"),14} {F($"ort_candidate_b{batch}_ms"),14} {F($"ort_b{batch}_speedup"),12}");
        sb.AppendLine($"{"params",-22} {F("baseline_params"),14} {F("candidate_params"),14}");
        sb.AppendLine($"{"flops",-22} {F("baseline_flops"),14} {F("candidate_flops"),14}");
        sb.AppendLine($"{"file bytes",-22} {F("baseline_bytes"),14} {F("candidate_bytes"),14}");
        sb.AppendLine($"candidate b1 ours / ort: vs ort baseline {F("candidate_b1_vs_ort_baseline")}, vs ort candidate {F("candidate_b1_vs_ort_candidate")}");
        if (m.TryGetValue($"candidate_b{batch}_images_per_thread", out var ipt) && ipt is int per && per > 0)
            sb.AppendLine($"ours b{batch}: image-parallel, {per} images per thread (baseline {F($"baseline_b{batch}_images_per_thread", "F0")})");
        if (m.TryGetValue("profile", out var p) && p is List<Dictionary<string, object>> rows)
            foreach (var group in rows.GroupBy(row => ((string)row["side"], (string)row["engine"])))
            {
                sb.AppendLine($"profile, {group.Key.Item1}, {group.Key.Item2} (batch 1, median us; total {group.Sum(row => (double)row["us"]):F1}):");
                foreach (var row in group)
                    sb.AppendLine($"  {Trim((string)row["step"], 28),-28} {Trim((string)row["op"], 18),-18} {(double)row["us"],9:F1}  {row["detail"]}");
            }
        sb.AppendLine($"output max abs diff (candidate vs baseline): {F("output_max_abs_diff", "G4")}; threads {F("threads")}, load {F("load_avg_1m_start", "F2")} -> {F("load_avg_1m_end", "F2")}");
        if (m.TryGetValue("core_round_trip_ns", out var ct) && ct is List<double?> trips && trips.Count > 0)
        {
            bool far = trips.Any(t => t > CorePlacement.FarNanos);
            sb.AppendLine($"cores: cache-line round trip {string.Join(" / ", trips.Select(t => t is { } v ? $"{v:F0}" : "-"))} ns (before b1 / before b{batch} / end)"
                + (far ? $"; above {CorePlacement.FarNanos:F0} ns the threads ran on cores that share no cache, where our two-thread times suffer more than ONNX Runtime's" : ""));
        }
        return sb.ToString();
    }

    /// <summary>The cores' cache-line round trip (<see cref="CorePlacement"/>) when more than one thread is timed, else null.</summary>
    private static double? CoreTrip(CompareOptions opts)
    {
        if (opts.Threads < 2) return null;
        WorkerPool.Park(); // our waiting worker would take a core from the probe
        return CorePlacement.RoundTripNanos();
    }

    private static string Trim(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "~";

    private static void Timings(Dictionary<string, object?> r, string batch, double[][] rounds)
    {
        var t = ModelTiming.Summaries(rounds);
        string[] names = ["baseline", "candidate", "ort_baseline", "ort_candidate"];
        for (int i = 0; i < names.Length; i++)
        {
            r[$"{names[i]}_{batch}_ms"] = t[i].Median / 1000;
            r[$"{names[i]}_{batch}_best_ms"] = t[i].Min / 1000;
            r[$"{names[i]}_{batch}_spread"] = t[i].Spread;
        }
        r[$"{batch}_speedup"] = ModelTiming.PairedRatio(rounds[0], rounds[1]);
        r[$"ort_{batch}_speedup"] = ModelTiming.PairedRatio(rounds[2], rounds[3]);
        r[$"candidate_{batch}_vs_ort_baseline"] = ModelTiming.PairedRatio(rounds[1], rounds[2]);
        r[$"candidate_{batch}_vs_ort_candidate"] = ModelTiming.PairedRatio(rounds[1], rounds[3]);
        r[$"baseline_{batch}_vs_ort_baseline"] = ModelTiming.PairedRatio(rounds[0], rounds[2]);
    }

    /// <summary>Our runtime on one side: a .dsz as stored (kernels chosen at load), anything else dense float32.</summary>
    private static InferenceModel Ours(CompareSide s, int threads) => s.Kind == CompareKind.Dsz
        ? InferenceModel.Load(s.Path, new RuntimeOptions { Threads = threads })
        : ModelEngine.DenseRuntime(s.Model, threads);

    /// <summary>
    /// The ONNX form of one side: the file itself, or an export written to <paramref name="temp"/> - also for an
    /// ONNX file that fixes its batch size (ONNX Runtime refuses batch 8 there): then the imported model is exported.
    /// </summary>
    private static string OnnxPath(CompareSide s, string temp)
    {
        switch (s.Kind)
        {
            case CompareKind.Onnx:
                using (var probe = new OnnxSession(s.Path, 1))
                    if (probe.FixedBatch is null) return s.Path;
                OnnxExport.FromModule(s.Model.Model, s.Model.SampleShape, s.Model.Metadata, temp);
                return temp;
            case CompareKind.Dsz: OnnxExport.FromDsz(DszFile.Read(s.Path), temp); return temp;
            default: OnnxExport.FromModule(s.Model.Model, s.Model.SampleShape, s.Model.Metadata, temp); return temp;
        }
    }

    private static double MaxAbsDiff(float[] a, float[] b)
    {
        double d = 0;
        for (int i = 0; i < a.Length; i++) d = Math.Max(d, Math.Abs((double)a[i] - b[i]));
        return d;
    }

    private static double LoadAverage()
    {
        try { return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return -1; }
    }
}

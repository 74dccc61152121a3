using System.Text.Json;
using System.Text.Json.Nodes;
using DeepShrink.Compression;
using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Quantization;
using DeepShrink.Format;
using DeepShrink.Nn.IO;

namespace DeepShrink.Report;

/// <summary>Bytes of one stored tensor: dense fp32 before, and after split into values, indices and side data (codebooks, scales).</summary>
public sealed record TensorBytes(string Name, string Codec, long Dense, long Values, long Indices, long Side)
{
    /// <summary>Stored bytes.</summary>
    public long Stored => Values + Indices + Side;
    /// <summary>The layer (graph node) the tensor belongs to: the name before its last dot.</summary>
    public string Layer => Name.LastIndexOf('.') is var i and > 0 ? Name[..i] : Name;
}

/// <summary>A sensitivity curve with the sparsity the run chose for it (null: none recorded).</summary>
public sealed record CurveData(string Parameter, double Baseline, double[] Sparsities, double[] Accuracies, double? Chosen);

/// <summary>One retraining epoch of a run.</summary>
public sealed record EpochData(int Attempt, string Phase, int Epoch, double Loss, double TrainAccuracy);

/// <summary>
/// Everything the HTML report shows of one run: read from a <c>compress --json</c> file (key <c>trace</c> and the
/// per-layer byte split) or from a model file that was not compressed here (its stored weights and bytes only).
/// </summary>
public sealed class RunData
{
    /// <summary>Label in plots and headings.</summary>
    public required string Name { get; init; }
    /// <summary>The command that produced the run, when recorded.</summary>
    public string? Command { get; init; }
    /// <summary>The compressed model file (for the latency probe), when known.</summary>
    public string? ModelPath { get; init; }
    /// <summary>Key numbers in display order.</summary>
    public List<(string Key, string Value)> KeyNumbers { get; } = new();
    /// <summary>Test accuracy of the uncompressed model (0..1).</summary>
    public double? BaselineAccuracy { get; init; }
    /// <summary>Test accuracy of the compressed model (0..1).</summary>
    public double? Accuracy { get; init; }
    /// <summary>Dense fp32 bytes.</summary>
    public long? DenseBytes { get; init; }
    /// <summary>File bytes of the compressed model.</summary>
    public long? CompressedBytes { get; init; }
    /// <summary>Per tensor bytes.</summary>
    public List<TensorBytes> Tensors { get; } = new();
    /// <summary>Bytes of the container: header, graph, alignment, checksums.</summary>
    public long ContainerBytes { get; set; }
    /// <summary>Weight histograms by stage.</summary>
    public List<WeightSnapshot> Snapshots { get; } = new();
    /// <summary>Sensitivity curves.</summary>
    public List<CurveData> Sensitivity { get; } = new();
    /// <summary>Per-layer error curves of the automatic allocation (<see cref="CurveData.Accuracies"/> holds the relative errors).</summary>
    public List<CurveData> LayerError { get; } = new();
    /// <summary>Retraining epochs.</summary>
    public List<EpochData> Epochs { get; } = new();
    /// <summary>Final codebooks by parameter.</summary>
    public Dictionary<string, float[]> Codebooks { get; } = new();
    /// <summary>Energy estimate: dense and compressed (keys of <see cref="EnergyTotals.ToDictionary"/>).</summary>
    public JsonObject? EnergyDense { get; set; }
    /// <summary>Energy estimate of the model as stored.</summary>
    public JsonObject? EnergyCompressed { get; set; }
    /// <summary>Median latency of one image (batch 1) in milliseconds on this machine, when measured.</summary>
    public double? LatencyMs { get; set; }
    /// <summary>Load average when the latency was measured.</summary>
    public string? LatencyLoad { get; set; }

    /// <summary>Reads a <c>compress --json</c> (or <c>demo --json</c>) file.</summary>
    public static RunData FromJson(string path)
    {
        JsonObject root;
        try { root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new FormatException("not a JSON object"); }
        catch (JsonException e) { throw new FormatException($"{path}: not a JSON run file ({e.Message})"); }
        if (root["layers"] is not JsonArray layers || root["compressed_bytes"] is null)
            throw new FormatException($"{path}: not a compress --json run (no 'layers' / 'compressed_bytes'); for a model file pass the .dsz or .safetensors itself");
        var run = new RunData
        {
            Name = $"{Str(root, "model")} / {Str(root, "recipe")} ({Path.GetFileNameWithoutExtension(path)})",
            Command = root["command"]?.GetValue<string>(),
            ModelPath = root["out"]?.GetValue<string>(),
            BaselineAccuracy = Num(root, "baseline_accuracy"), Accuracy = Num(root, "compressed_accuracy"),
            DenseBytes = (long?)Num(root, "dense_bytes"), CompressedBytes = (long?)Num(root, "compressed_bytes"),
        };
        foreach (var key in new[] { "model", "recipe", "out", "dense_bytes", "compressed_bytes", "ratio", "baseline_accuracy", "compressed_accuracy",
                     "accuracy_drop_pp", "max_drop_pp", "budget_met", "dense_params", "compressed_params", "dense_flops", "compressed_flops", "seed", "wall_seconds", "threads" })
            if (root[key] is { } v) run.KeyNumbers.Add((key, v.ToJsonString().Trim('"')));
        foreach (var l in layers.OfType<JsonObject>())
        {
            long stored = (long)(Num(l, "stored_bytes") ?? 0), values = (long)(Num(l, "value_bytes") ?? stored), index = (long)(Num(l, "index_bytes") ?? 0);
            run.Tensors.Add(new TensorBytes(Str(l, "name"), Str(l, "codec"), (long)(Num(l, "dense_bytes") ?? 0), values, index, Math.Max(0, stored - values - index)));
        }
        run.ContainerBytes = (long)(Num(root, "container_bytes") ?? Math.Max(0, (run.CompressedBytes ?? 0) - run.Tensors.Sum(t => t.Stored)));
        var chosen = new Dictionary<string, double>();
        if (root["plan"] is JsonObject plan)
            foreach (var (k, v) in plan) if (v?["target_sparsity"] is { } s) chosen[k] = s.GetValue<double>();
        if (root["trace"] is JsonObject trace) ReadTrace(run, trace, chosen);
        if (root["energy"] is JsonObject energy) { run.EnergyDense = energy["dense"]?.DeepClone() as JsonObject; run.EnergyCompressed = energy["compressed"]?.DeepClone() as JsonObject; }
        return run;
    }

    private static void ReadTrace(RunData run, JsonObject trace, Dictionary<string, double> chosen)
    {
        foreach (var s in trace["snapshots"]?.AsArray().OfType<JsonObject>() ?? [])
            run.Snapshots.Add(new WeightSnapshot(Str(s, "stage"), (s["layers"]?.AsArray().OfType<JsonObject>() ?? []).Select(h => new WeightHistogram(
                Str(h, "name"), (long)(Num(h, "count") ?? 0), (long)(Num(h, "zeros") ?? 0), Num(h, "min") ?? 0, Num(h, "max") ?? 0,
                h["counts"]!.AsArray().Select(c => c!.GetValue<long>()).ToArray())).ToList()));
        foreach (var c in trace["sensitivity"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var p = Str(c, "parameter");
            run.Sensitivity.Add(new CurveData(p, Num(c, "baseline_accuracy") ?? 0, Doubles(c["sparsities"]), Doubles(c["accuracies"]), chosen.TryGetValue(p, out var ch) ? ch : null));
        }
        foreach (var c in trace["layer_error"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var p = Str(c, "parameter");
            run.LayerError.Add(new CurveData(p, 0, Doubles(c["sparsities"]), Doubles(c["relative_error"]), chosen.TryGetValue(p, out var ch) ? ch : null));
        }
        foreach (var e in trace["epochs"]?.AsArray().OfType<JsonObject>() ?? [])
            run.Epochs.Add(new EpochData((int)(Num(e, "attempt") ?? 1), Str(e, "phase"), (int)(Num(e, "epoch") ?? 0), Num(e, "loss") ?? 0, Num(e, "train_accuracy") ?? 0));
        if (trace["codebooks"] is JsonObject books)
            foreach (var (k, v) in books) run.Codebooks[k] = Doubles(v).Select(d => (float)d).ToArray();
    }

    /// <summary>A model file that was not compressed here (.dsz or .safetensors): its stored weights, bytes and energy.</summary>
    public static RunData FromModelFile(string path)
    {
        var loaded = ModelIO.Load(path, InputHooks.Factories);
        bool dsz = ModelIO.IsDsz(path);
        long fileBytes = new FileInfo(path).Length;
        var run = new RunData
        {
            Name = $"{loaded.Arch} ({Path.GetFileName(path)})", ModelPath = dsz ? path : null, CompressedBytes = fileBytes,
        };
        if (dsz)
        {
            var file = DszFile.Read(path);
            foreach (var r in DszReport.Rows(file))
                run.Tensors.Add(new TensorBytes(r.Name, r.Codec, r.Stats.DenseBytes, r.ValueBytes, r.IndexBytes, r.Stats.PayloadBytes - r.ValueBytes - r.IndexBytes));
        }
        else
            foreach (var (n, t) in loaded.Model.StateDict()) run.Tensors.Add(new TensorBytes(n, "dense-f32", 4L * t.Size, 4L * t.Size, 0, 0));
        run.ContainerBytes = Math.Max(0, fileBytes - run.Tensors.Sum(t => t.Stored));
        var tensors = loaded.Model.NamedParameters().Where(p => p.Param.Rank >= 2).ToList();
        run.Snapshots.Add(new WeightSnapshot("stored weights", tensors.Select(p => WeightHistogram.Of(p.Name, p.Param.Span, 64)).ToList()));
        var layers = ModelFileLayers.Read(path);
        run.EnergyDense = Node(EnergyEstimate.Dense(layers).ToDictionary());
        run.EnergyCompressed = Node(EnergyEstimate.Estimate(layers).ToDictionary());
        long dense = run.Tensors.Sum(t => t.Dense);
        run.KeyNumbers.Add(("file", path));
        run.KeyNumbers.Add(("model", loaded.Arch));
        run.KeyNumbers.Add(("file_bytes", fileBytes.ToString()));
        run.KeyNumbers.Add(("dense_bytes", dense.ToString()));
        run.KeyNumbers.Add(("ratio", (dense / (double)fileBytes).ToString("F3", System.Globalization.CultureInfo.InvariantCulture)));
        run.KeyNumbers.Add(("parameters", run.Tensors.Sum(t => t.Dense / 4).ToString()));
        return run;
    }

    /// <summary>A dictionary as a JSON object.</summary>
    public static JsonObject Node(Dictionary<string, object> d) => (JsonObject)JsonSerializer.SerializeToNode(d)!;

    private static string Str(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : o[key]?.ToJsonString() ?? "?";
    private static double? Num(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
    private static double[] Doubles(JsonNode? n) => n?.AsArray().Select(x => x!.GetValue<double>()).ToArray() ?? [];
}

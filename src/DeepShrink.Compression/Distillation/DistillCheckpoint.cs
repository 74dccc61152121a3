using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepShrink.Core;
using DeepShrink.Format;

namespace DeepShrink.Compression.Distillation;

/// <summary>
/// The state of a <see cref="Distiller"/> run after a whole epoch, so that a run cut short continues where it stopped:
/// the student's and the regressors' parameters and buffers, the optimisers' state, the stage and epoch reached, the
/// epochs so far, and the run's <see cref="Fingerprint"/> (what must be equal for the continued run to be the same run).
/// </summary>
/// <remarks>
/// A safetensors file (tensors <c>student.*</c>, <c>regressors.I.*</c>, <c>optimizer.K.*</c>; the rest in metadata), written
/// atomically. The data order and the augmentation of every epoch are seeded by the epoch, so a continued run repeats
/// the uninterrupted one bit for bit (students are graphs, which have no dropout op, so no random state is left over).
/// </remarks>
public sealed record DistillCheckpoint
{
    /// <summary>Metadata key marking a distillation checkpoint (value: the format version).</summary>
    public const string FormatKey = "deepshrink.distill_checkpoint";
    private const string Version = "1";

    /// <summary>The stage reached: 0 the hint stage, 1 the main stage.</summary>
    public required int Stage { get; init; }
    /// <summary>Epochs of <see cref="Stage"/> done.</summary>
    public required int EpochsDone { get; init; }
    /// <summary>What identifies the run (<see cref="Distiller.Fingerprint"/>): ordered <c>key=value</c> pairs.</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Fingerprint { get; init; }
    /// <summary>Every epoch so far, with its metrics.</summary>
    public required IReadOnlyList<DistillEpoch> History { get; init; }
    /// <summary>The student's state dict.</summary>
    public required IReadOnlyDictionary<string, Tensor> Student { get; init; }
    /// <summary>Each regressor's state dict, in pair order.</summary>
    public required IReadOnlyList<IReadOnlyDictionary<string, Tensor>> Regressors { get; init; }
    /// <summary>The state of each optimiser of <see cref="Stage"/> (<c>Optimizer.SaveState</c>), in group order.</summary>
    public required IReadOnlyList<IReadOnlyDictionary<string, float[]>> Optimizers { get; init; }

    /// <summary>Writes the checkpoint atomically (temporary file + rename): a crash leaves the previous one intact.</summary>
    public void Save(string path)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (k, t) in Student) tensors["student." + k] = t;
        for (int i = 0; i < Regressors.Count; i++)
            foreach (var (k, t) in Regressors[i]) tensors[$"regressors.{i}.{k}"] = t;
        for (int i = 0; i < Optimizers.Count; i++)
            foreach (var (k, v) in Optimizers[i]) tensors[$"optimizer.{i}.{k}"] = new Tensor(v, v.Length);
        var history = new JsonArray([.. History.Select(h => (JsonNode)new JsonObject
        {
            ["stage"] = h.Stage, ["epoch"] = h.Epoch, ["loss"] = h.Loss, ["seconds"] = h.Seconds, ["images"] = h.Images,
            ["metrics"] = new JsonObject([.. h.Metrics.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value))]),
        })]);
        var fingerprint = new JsonArray([.. Fingerprint.Select(p => (JsonNode)new JsonArray(p.Key, p.Value))]);
        Checkpoint.Save(path, tensors, new Dictionary<string, string>
        {
            [FormatKey] = Version,
            ["deepshrink.distill_stage"] = Stage.ToString(CultureInfo.InvariantCulture),
            ["deepshrink.distill_epochs_done"] = EpochsDone.ToString(CultureInfo.InvariantCulture),
            ["deepshrink.distill_regressors"] = Regressors.Count.ToString(CultureInfo.InvariantCulture),
            ["deepshrink.distill_optimizers"] = Optimizers.Count.ToString(CultureInfo.InvariantCulture),
            ["deepshrink.distill_fingerprint"] = fingerprint.ToJsonString(),
            ["deepshrink.distill_history"] = history.ToJsonString(),
        });
    }

    /// <summary>
    /// Reads a checkpoint <see cref="Save"/> wrote. One-line <see cref="InvalidDataException"/> when the file is not one
    /// (another safetensors file, a corrupt or truncated file).
    /// </summary>
    public static DistillCheckpoint Load(string path)
    {
        CheckpointData data;
        try { data = Checkpoint.Load(path); }
        catch (SafetensorsException e) { throw new InvalidDataException($"{path} is not a readable distillation checkpoint: {e.Message}"); }
        var meta = data.Metadata;
        if (!meta.TryGetValue(FormatKey, out var version))
            throw new InvalidDataException($"{path} is a safetensors file but not a distillation checkpoint (no {FormatKey} metadata)");
        if (version != Version) throw new InvalidDataException($"{path} is a distillation checkpoint of format {version}; this build reads format {Version}");
        try
        {
            int stage = Int(meta, "stage"), done = Int(meta, "epochs_done"), nReg = Int(meta, "regressors"), nOpt = Int(meta, "optimizers");
            var fingerprint = JsonNode.Parse(Text(meta, "fingerprint"))!.AsArray()
                .Select(p => KeyValuePair.Create(p![0]!.GetValue<string>(), p[1]!.GetValue<string>())).ToList();
            var history = JsonNode.Parse(Text(meta, "history"))!.AsArray().Select(h => new DistillEpoch(
                h!["stage"]!.GetValue<string>(), h["epoch"]!.GetValue<int>(), h["loss"]!.GetValue<float>(), h["seconds"]!.GetValue<double>(), h["images"]!.GetValue<long>())
            {
                Metrics = h["metrics"]!.AsObject().ToDictionary(m => m.Key, m => m.Value!.GetValue<double>()),
            }).ToList();
            var student = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            var regs = Enumerable.Range(0, nReg).Select(_ => new Dictionary<string, Tensor>(StringComparer.Ordinal)).ToList();
            var opts = Enumerable.Range(0, nOpt).Select(_ => new Dictionary<string, float[]>(StringComparer.Ordinal)).ToList();
            foreach (var (name, t) in data.Tensors)
            {
                if (name.StartsWith("student.", StringComparison.Ordinal)) student[name["student.".Length..]] = t;
                else if (Indexed(name, "regressors.", nReg) is var (i, rest)) regs[i][rest] = t;
                else if (Indexed(name, "optimizer.", nOpt) is var (k, key)) opts[k][key] = t.ToArray();
                else throw new InvalidDataException($"unexpected tensor '{name}'");
            }
            if (stage is < 0 or > 1 || done < 0) throw new InvalidDataException($"stage {stage}, epoch {done} is out of range");
            return new DistillCheckpoint { Stage = stage, EpochsDone = done, Fingerprint = fingerprint, History = history, Student = student, Regressors = regs, Optimizers = opts };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException or InvalidDataException or KeyNotFoundException)
        {
            throw new InvalidDataException($"{path} is a damaged distillation checkpoint: {e.Message}");
        }
    }

    /// <summary>
    /// The first difference between this checkpoint's run and <paramref name="fingerprint"/> as one line
    /// (<c>seed: 1 in the checkpoint, 2 now</c>), or null when they are the same run.
    /// </summary>
    public string? Difference(IReadOnlyList<KeyValuePair<string, string>> fingerprint)
    {
        var mine = Fingerprint.ToDictionary(p => p.Key, p => p.Value);
        foreach (var (k, v) in fingerprint)
        {
            if (!mine.TryGetValue(k, out var old)) return $"{k}: absent in the checkpoint, {v} now";
            if (old != v) return $"{k}: {old} in the checkpoint, {v} now";
        }
        var extra = Fingerprint.Select(p => p.Key).Except(fingerprint.Select(p => p.Key)).FirstOrDefault();
        return extra is null ? null : $"{extra}: in the checkpoint, absent now";
    }

    private static string Text(IReadOnlyDictionary<string, string> meta, string key)
        => meta.TryGetValue("deepshrink.distill_" + key, out var v) ? v : throw new InvalidDataException($"no deepshrink.distill_{key} metadata");

    private static int Int(IReadOnlyDictionary<string, string> meta, string key)
        => int.TryParse(Text(meta, key), NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : throw new InvalidDataException($"deepshrink.distill_{key} is not a count");

    // "prefix.I.rest" with 0 <= I < count -> (I, rest)
    private static (int, string)? Indexed(string name, string prefix, int count)
    {
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return null;
        int dot = name.IndexOf('.', prefix.Length);
        if (dot < 0 || !int.TryParse(name.AsSpan(prefix.Length, dot - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i >= count) return null;
        return (i, name[(dot + 1)..]);
    }
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace DeepShrink.Sweep;

/// <summary>A file that travels by content: its name (kept, e.g. the IDX base names), SHA-256 (lower-case hex) and length.</summary>
public sealed record BlobRef(string Name, string Sha256, long Bytes);

/// <summary>
/// One sweep point as a self-contained job: everything its result depends on (recipe text, seed, budget,
/// model and dataset by content hash, subset, thread count). <see cref="Id"/> is a hash of all of it, so a
/// result on disk is reused (resume) exactly when the job is the same.
/// </summary>
public sealed record PointJob
{
    /// <summary>Content id (16 hex digits of SHA-256 over the other fields).</summary>
    public string Id { get; init; } = "";
    /// <summary>Position in the grid.</summary>
    public int Index { get; init; }
    /// <summary>Axis values of the point.</summary>
    public Dictionary<string, string> Axes { get; init; } = new();
    /// <summary>The recipe YAML with the point's values set.</summary>
    public string RecipeYaml { get; init; } = "";
    /// <summary>Recipe name/source (for messages).</summary>
    public string RecipeSource { get; init; } = "";
    /// <summary>Seed of the compression job.</summary>
    public ulong Seed { get; init; }
    /// <summary>Accuracy budget override (pp).</summary>
    public double? MaxDropPp { get; init; }
    /// <summary>The base model file.</summary>
    public BlobRef Model { get; init; } = new("", "", 0);
    /// <summary>Dataset family (<c>fashion-mnist</c>, <c>mnist</c>, <c>idx</c>): the files are laid out as that family's directory.</summary>
    public string DatasetFamily { get; init; } = "";
    /// <summary>Dataset spec as the user wrote it (recorded in the output file's metadata, wherever the job ran).</summary>
    public string DatasetText { get; init; } = "";
    /// <summary>The four IDX files.</summary>
    public BlobRef[] DatasetFiles { get; init; } = [];
    /// <summary>Data subset, or null.</summary>
    public SubsetSpec? Subset { get; init; }
    /// <summary>Kernel threads (pinned).</summary>
    public int Threads { get; init; } = 1;
    /// <summary>Latency runs (0: none).</summary>
    public int LatencyRuns { get; init; }

    /// <summary>Every blob the job needs.</summary>
    public IEnumerable<BlobRef> Blobs => DatasetFiles.Prepend(Model);

    /// <summary>This job with its content <see cref="Id"/> set.</summary>
    public PointJob WithId()
    {
        var body = JsonSerializer.Serialize(this with { Id = "", Index = 0, Axes = new() }, SweepJson.Options);
        return this with { Id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)))[..16] };
    }
}

/// <summary>What one point produced and measured. <see cref="Equivalent"/> compares the parts that depend only on the job.</summary>
public sealed record PointResult
{
    public string Id { get; init; } = "";
    public int Index { get; init; }
    public Dictionary<string, string> Axes { get; init; } = new();
    /// <summary>The stated accuracy budget held (false: over budget; the file is the best reached).</summary>
    public bool BudgetMet { get; init; }
    public double BaselineAccuracy { get; init; }
    public double CompressedAccuracy { get; init; }
    public double AccuracyDropPp { get; init; }
    public long DenseBytes { get; init; }
    public long CompressedBytes { get; init; }
    public double Ratio { get; init; }
    /// <summary>SHA-256 of the written .dsz (bit-identical results have equal hashes).</summary>
    public string DszSha256 { get; init; } = "";
    /// <summary>Median batch-1 latency of the file on the runtime, ms (depends on the machine and its load; 0: not measured).</summary>
    public double LatencyMs { get; init; }
    /// <summary>Job wall time, s.</summary>
    public double Seconds { get; init; }
    /// <summary>Where it ran (<c>embedded</c> or the silo address).</summary>
    public string Worker { get; init; } = "";
    /// <summary>Kernel threads the job ran with.</summary>
    public int Threads { get; init; }

    /// <summary>Same job outcome (accuracy, bytes, file hash), ignoring where/how fast it ran.</summary>
    public bool Equivalent(PointResult o) => Id == o.Id && BudgetMet == o.BudgetMet && BaselineAccuracy == o.BaselineAccuracy
        && CompressedAccuracy == o.CompressedAccuracy && DenseBytes == o.DenseBytes && CompressedBytes == o.CompressedBytes && DszSha256 == o.DszSha256;
}

/// <summary>JSON settings of the sweep files (snake_case keys, stable).</summary>
public static class SweepJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };
}

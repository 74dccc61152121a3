using System.Globalization;
using DeepShrink.Compression.LowRank;
using DeepShrink.Format;

namespace DeepShrink.Bench;

/// <summary>
/// Writes same-shape checkpoints whose hidden linear layers are replaced by low-rank approximations
/// (uniform rank ratio and global allocation) or by magnitude pruning with the same number of stored
/// weights, so <c>deepshrink eval</c> measures their accuracy without fine-tuning and without graph
/// changes (<c>deepshrink bench lowrank-approx --model m.safetensors --out DIR</c>).
/// </summary>
public static class LowRankCheckpoints
{
    /// <summary>Stored-weight budgets as fractions of the dense hidden layers.</summary>
    public static readonly double[] Fractions = { 0.5, 0.25, 0.1, 0.05 };

    /// <summary>Writes the checkpoints into <paramref name="dir"/> and returns one row per file.</summary>
    public static IReadOnlyList<(string Key, object Value)> Write(string checkpoint, string dir)
    {
        var file = SafetensorsReader.Read(checkpoint);
        // Every 2-D weight except the classifier (the last one in name order).
        var names = file.Tensors.Keys.Where(k => k.EndsWith(".weight", StringComparison.Ordinal) && file.Tensors[k].Shape.Count == 2).Order(StringComparer.Ordinal).ToArray();
        if (names.Length < 2) throw new ArgumentException($"lowrank-approx: {checkpoint} has fewer than two linear layers");
        var hidden = names[..^1];
        var layers = hidden.Select(n => FactorLayer.Linear(file.Tensors[n].ToFloatArray(), file.Tensors[n].Shape[0], file.Tensors[n].Shape[1])).ToArray();
        long dense = layers.Sum(l => (long)l.Weight.Length);
        Directory.CreateDirectory(dir);
        var rows = new List<(string, object)>();
        foreach (double f in Fractions)
        {
            long budget = (long)(f * dense);
            string tag = f.ToString("0.00", CultureInfo.InvariantCulture);
            var uniform = UniformRanks(layers, budget);
            var global = GlobalRankAllocator.Allocate(layers.Select((l, i) => GlobalRankAllocator.SvdCandidates(hidden[i], l, CostKind.Macs)).ToArray(), budget)
                .Choices.Select((c, i) => c.Choice.IsDense ? LinearSvd.MaxRank(layers[i]) : c.Choice.Ranks[0]).ToArray();
            foreach (var (kind, ranks) in new[] { ("uniform", uniform), ("global", global) })
            {
                var weights = layers.Select((l, i) => LinearSvd.Decompose(l, ranks[i]).Approximation).ToArray();
                long stored = layers.Select((l, i) => Math.Min(LinearSvd.Cost(l, ranks[i], CostKind.Macs), l.Weight.Length)).Sum();
                Save(file, hidden, weights, Path.Combine(dir, $"svd-{kind}-{tag}.safetensors"));
                rows.Add(($"svd_{kind}_{tag}_ranks", string.Join("/", ranks)));
                rows.Add(($"svd_{kind}_{tag}_stored_weights", stored));
            }
            // Magnitude pruning over all hidden layers together, keeping as many weights as the uniform SVD stores.
            long keep = layers.Select((l, i) => LinearSvd.Cost(l, uniform[i], CostKind.Macs)).Sum();
            Save(file, hidden, Prune(layers, keep), Path.Combine(dir, $"prune-{tag}.safetensors"));
            rows.Add(($"prune_{tag}_stored_weights", keep));
        }
        return rows;
    }

    /// <summary>The same fraction t of every layer's max rank, the largest t whose total weights fit.</summary>
    private static int[] UniformRanks(FactorLayer[] layers, long budget)
    {
        for (int step = 1000; step >= 1; step--)
        {
            var ranks = layers.Select(l => Math.Max(1, (int)Math.Round(step / 1000.0 * LinearSvd.MaxRank(l)))).ToArray();
            if (layers.Select((l, i) => LinearSvd.Cost(l, ranks[i], CostKind.Macs)).Sum() <= budget) return ranks;
        }
        throw new ArgumentException($"lowrank-approx: budget {budget} is below rank 1 everywhere");
    }

    private static float[][] Prune(FactorLayer[] layers, long keep)
    {
        var all = layers.SelectMany(l => l.Weight.Select(Math.Abs)).OrderDescending().ToArray();
        float threshold = keep >= all.Length ? 0 : all[keep];
        return layers.Select(l => l.Weight.Select(v => Math.Abs(v) > threshold ? v : 0f).ToArray()).ToArray();
    }

    private static void Save(SafetensorsFile file, string[] names, float[][] weights, string path)
    {
        var tensors = file.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value);
        for (int i = 0; i < names.Length; i++) tensors[names[i]] = SafetensorsTensor.FromFloats(weights[i], file.Tensors[names[i]].ShapeArray());
        SafetensorsWriter.Write(path, tensors, file.Metadata);
    }
}

using System.Diagnostics;
using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Quantization;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Data.Transforms;
using DeepShrink.Format;
using DeepShrink.Nn;
using DeepShrink.Nn.IO;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression;

/// <summary>What <see cref="Compressor.Run"/> compresses, with what, on which data, to where.</summary>
public sealed record CompressionJob
{
    /// <summary>The trained model (compressed in place).</summary>
    public required LoadedModel Model { get; init; }
    /// <summary>The recipe.</summary>
    public required Recipe Recipe { get; init; }
    /// <summary>Training images for the retraining epochs.</summary>
    public required ImageDataset Train { get; init; }
    /// <summary>Held-out validation images for the automatic decisions.</summary>
    public required ImageDataset Validation { get; init; }
    /// <summary>Test images for the reported accuracies and the budget check.</summary>
    public required ImageDataset Test { get; init; }
    /// <summary>Where the <c>.dsz</c> goes (written atomically, only when the budget holds).</summary>
    public required string OutPath { get; init; }
    /// <summary>Accuracy budget in percentage points (overrides the recipe's); null: the recipe's, if it states one.</summary>
    public double? MaxDropPp { get; init; }
    /// <summary>Seed of the retraining shuffles and the components' generators.</summary>
    public ulong Seed { get; init; } = 42;
    /// <summary>Distillation teacher (null: a frozen copy of the input model when the recipe distils).</summary>
    public Module? Teacher { get; init; }
    /// <summary>Extra metadata for the file (dataset spec, normalisation, source, ...).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    /// <summary>Progress lines.</summary>
    public Action<string> Log { get; init; } = _ => { };
    /// <summary>Per-epoch progress.</summary>
    public Action<EpochStats>? OnEpoch { get; init; }
    /// <summary>Batch-1 latency in the deployment runtime, for latency targets (the CLI gives its runtime's; null: none).</summary>
    public ILatencyMeter? Latency { get; init; }
}

/// <summary>What a compression produced and measured (<see cref="GraphChanged"/>: a component transformed the graph).</summary>
public sealed record CompressionResult(
    string OutPath, double BaselineAccuracy, double CompressedAccuracy, double BaselineValidationAccuracy,
    long DenseBytes, long CompressedBytes, IReadOnlyList<LayerRow> Layers, CompressionContext Context,
    double? BudgetPp, double Seconds, GraphModule Model, bool GraphChanged)
{
    /// <summary>Dense fp32 bytes / file bytes.</summary>
    public double Ratio => (double)DenseBytes / CompressedBytes;
    /// <summary>Test accuracy drop in percentage points.</summary>
    public double DropPp => (BaselineAccuracy - CompressedAccuracy) * 100;
    /// <summary>Batch-1 latency of the input model and of the written one in the deployment runtime (latency targets only).</summary>
    public LatencyComparison? Latency { get; init; }
}

/// <summary>The accuracy budget was not met: nothing was written at the output path; the best model is kept beside it.</summary>
public sealed class BudgetNotMetException(string message, CompressionResult result) : Exception(message)
{
    /// <summary>What was reached (its file is <see cref="CompressionResult.OutPath"/>, beside the requested path).</summary>
    public CompressionResult Result { get; } = result;
}

/// <summary>
/// The whole compression job as a library service: runs a recipe on a model with real data, writes
/// the <c>.dsz</c>, checks that decoding the file gives the compressed model bit for bit, evaluates
/// the file's model on the test set and keeps the accuracy budget (or fails, never writing an
/// over-budget model at the requested path). The CLI's <c>compress</c> and <c>demo</c> call it.
/// </summary>
public static class Compressor
{
    /// <summary>Runs <paramref name="job"/>.</summary>
    /// <exception cref="BudgetNotMetException">The test accuracy drop exceeds the stated budget.</exception>
    public static CompressionResult Run(CompressionJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var sw = Stopwatch.StartNew();
        var recipe = job.Recipe;
        var model = job.Model.Model;
        string inputGraph = model.Graph.ToJson();
        long inputDenseBytes = model.StateDict().Values.Sum(t => 4L * t.Size);
        var testBatches = Ordered(job.Test).ToList();
        double baseline = Trainer.Evaluate(model, testBatches).Accuracy;
        job.Log($"baseline test accuracy {baseline:P2}, {recipe.TotalEpochs} retraining epochs, seed {job.Seed}");
        var tr = recipe.Training;
        var transforms = Augmentation.Of(tr.CropPadding, tr.Flip);
        var loader = new DataLoader(job.Train, new DataLoaderOptions { BatchSize = tr.BatchSize, Seed = job.Seed, Transforms = transforms });
        var valBatches = Ordered(job.Validation).ToList();
        bool distils = recipe.Training.Distillation is not null || recipe.Components.Values.OfType<DistillationSpec>().Any();
        CompressionContext? ctxRef = null;
        var ctx = ctxRef = new CompressionContext
        {
            Model = model,
            Teacher = distils ? job.Teacher ?? ModelIO.Copy(model, InputHooks.Factories) : null,
            TrainBatches = e => loader.Epoch(e).Select(b => (b.Images, b.Labels)),
            BatchesPerEpoch = loader.BatchesPerEpoch,
            ValidationAccuracy = () => Trainer.Evaluate(ctxRef!.Model, valBatches).Accuracy,
            ValidationCorrectness = () => Correctness(ctxRef!.Model, valBatches),
            Rng = new Rng(job.Seed),
            NumClasses = job.Train.NumClasses,
            Log = job.Log,
            OnEpoch = job.OnEpoch,
            Latency = job.Latency,
        };
        var latencyTarget = recipe.Find<Pruning.Channels.ChannelPruningSpec>() is { Target: "latency" } lt ? lt : null;
        if (latencyTarget is not null && job.Latency is null)
            throw LatencyMeters.Missing(latencyTarget.Name);
        var input = latencyTarget is null ? null : ModelIO.Copy(model, InputHooks.Factories); // the reference the result is timed against
        var runner = new RecipeRunner(recipe) { MaxDropPp = job.MaxDropPp };
        runner.Run(ctx);
        double? budget = job.MaxDropPp ?? recipe.Find<PruningSpec>()?.MaxDropPp ?? recipe.Find<Pruning.Channels.ChannelPruningSpec>()?.MaxDropPp;

        var meta = new Dictionary<string, string>(job.Model.Metadata.Where(kv => kv.Key != ModelIO.GraphKey).ToDictionary(), StringComparer.Ordinal)
        {
            ["deepshrink.recipe"] = recipe.Name,
            ["deepshrink.baseline_accuracy"] = ModelIO.Num(baseline),
        };
        foreach (var (k, v) in job.Metadata) meta[k] = v;
        // Written next to the target first (an AtomicFile temporary name, so a killed run's file is removed
        // by the next write there); moved into place only when the budget holds.
        var staged = AtomicFile.TempPathFor(job.OutPath);
        try
        {
            ModelIO.WriteDsz(staged, ctx.Model, (n, t) => runner.EncodeTensor(ctx, n, t), meta);

            // Measure what was written: decode the file, compare bit for bit, evaluate.
            var file = DszFile.Read(staged);
            var decoded = ModelIO.LoadDsz(file, InputHooks.Factories).Model;
            var decodedState = decoded.StateDict();
            foreach (var (n, t) in ctx.Model.StateDict())
                if (!decodedState.TryGetValue(n, out var d) || d.MaxAbsDiff(t) != 0f)
                    throw new InvalidOperationException($"internal error: decoded tensor {n} differs from the compressed model");
            double compressed = Trainer.Evaluate(decoded, testBatches).Accuracy;
            var rows = DszReport.Rows(file);
            // A graph transform changes the tensors: the dense reference is then the input model, not the file's tensors.
            bool graphChanged = ctx.Model.Graph.ToJson() != inputGraph;
            long dense = graphChanged ? inputDenseBytes : DszReport.DenseBytes(rows);
            long bytes = new FileInfo(staged).Length;
            var result = new CompressionResult(job.OutPath, baseline, compressed, ctx.BaselineValidationAccuracy, dense, bytes, rows, ctx, budget, sw.Elapsed.TotalSeconds, decoded, graphChanged)
            {
                Latency = input is null ? null : job.Latency!.Compare(input, decoded),
            };
            // The drop in whole test images, so that "exactly at the budget" is not lost to rounding.
            long lostImages = (long)Math.Round((baseline - compressed) * job.Test.Count);
            var misses = new List<string>();
            if (budget is double b && lostImages > (long)Math.Floor(b / 100 * job.Test.Count + 1e-9))
                misses.Add($"accuracy budget not met: test accuracy {baseline:P2} -> {compressed:P2} (drop {result.DropPp:F2} pp > {b:F2} pp) at {result.Ratio:F1}x");
            if (recipe.Find<PruningSpec>()?.Target is { } target
                && TargetPlanner.Reached(target, bytes, inputDenseBytes, ctx.Model) is var reached && reached > target.Fraction)
                misses.Add($"size target not met: {target.Kind} {reached:G4} of the dense model > {target.Fraction:G4} ({1 / reached:F1}x < {1 / target.Fraction:F1}x), test drop {result.DropPp:F2} pp");
            if (latencyTarget is not null && result.Latency is { } lat && lat.Ratio > latencyTarget.Keep)
                misses.Add($"latency target not met: {lat.Ratio:0.###} of the input model's batch-1 latency ({lat.CandidateMs:F3} vs {lat.BaselineMs:F3} ms) > {latencyTarget.Keep:0.###}, test drop {result.DropPp:F2} pp");
            if (misses.Count > 0)
            {
                var kept = BesidePath(job.OutPath);
                File.Move(staged, kept, overwrite: true);
                throw new BudgetNotMetException(string.Join("; ", misses) +
                    $"; nothing written to {job.OutPath}; the result is kept as {kept}; try a larger --max-drop or target, a recipe with more retraining or distillation",
                    result with { OutPath = kept });
            }
            File.Move(staged, job.OutPath, overwrite: true);
            return result;
        }
        finally
        {   // moved into place or beside on success or budget failure; removed when anything else failed
            if (File.Exists(staged)) File.Delete(staged);
        }
    }

    /// <summary>Where an over-budget result is kept: <c>NAME.over-budget.dsz</c> beside the requested path.</summary>
    public static string BesidePath(string outPath)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(outPath))!;
        return Path.Combine(dir, Path.GetFileNameWithoutExtension(outPath) + ".over-budget" + Path.GetExtension(outPath));
    }

    /// <summary>Per image: is the model's top class (<see cref="Ops.ArgMaxRows"/>, as accuracy counts it) the label? Eval mode, no gradient.</summary>
    public static bool[] Correctness(Module model, IEnumerable<(Tensor X, int[] Y)> batches)
    {
        bool was = model.Training;
        model.Eval();
        try
        {
            using var _ = Core.Autograd.Engine.NoGrad();
            var res = new List<bool>();
            foreach (var (x, y) in batches)
            {
                var pred = Ops.ArgMaxRows(model.Forward(x));
                for (int i = 0; i < y.Length; i++) res.Add(pred[i] == y[i]);
            }
            return res.ToArray();
        }
        finally { model.Train(was); }
    }

    /// <summary>Batches of 256 in order (evaluation).</summary>
    public static IEnumerable<(Tensor X, int[] Y)> Ordered(ImageDataset d)
        => new DataLoader(d, new DataLoaderOptions { BatchSize = 256, Shuffle = false }).Epoch(0).Select(b => (b.Images, b.Labels));
}

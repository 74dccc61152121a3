using System.Diagnostics;
using DeepShrink.Compression;
using DeepShrink.Compression.Quantization;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Nn.IO;
using DeepShrink.Runtime;

namespace DeepShrink.Sweep;

/// <summary>
/// Runs one sweep point with the library (<see cref="Compressor.Run"/>), wherever it is: the caller gives the
/// local paths of the model and of the dataset directory (original files in an embedded sweep, the verified
/// blob cache on a worker). The result depends only on the job (its inputs, seed and thread count).
/// </summary>
public static class PointRunner
{
    /// <summary>Runs <paramref name="job"/>, writes its .dsz at <paramref name="outPath"/> (over budget: beside it, see <see cref="Compressor.BesidePath"/>).</summary>
    public static PointResult Run(PointJob job, string modelPath, string datasetDir, string outPath, string worker, Action<string>? log = null)
    {
        var sw = Stopwatch.StartNew();
        // Pinned per job; every job of a sweep has the same value, so concurrent jobs agree on it.
        Parallelism.Degree = job.Threads;
        var stored = ModelIO.Load(modelPath, InputHooks.Factories);
        var norm = stored.Meta(ModelIO.NormalizationKey) is { } nj ? Normalization.FromJson(nj) : null;
        int valCount = int.TryParse(stored.Meta(ModelIO.ValidationCountKey), out var vc) ? vc : 5000;
        ulong valSeed = ulong.TryParse(stored.Meta(ModelIO.ValidationSeedKey), out var vs) ? vs : 42;
        // The images are prepared as the CLI prepares them for this model: resized / converted to its square input
        // and put in its colour channel order (an imported BGR ResNet18 at 3 x 32 x 32 on Fashion-MNIST's 1 x 28 x 28).
        var (imageSize, channels) = DatasetLoadOptions.ImageInputOf(stored.SampleShape);
        int[]? order;
        try { order = ChannelOrder.ParseReordering(stored.Meta(ModelIO.ChannelOrderKey)); }
        catch (FormatException e) { throw new InvalidDataException($"model metadata: {e.Message}"); }
        var data = DatasetLoader.Load(DatasetSpec.Parse($"{job.DatasetFamily}:{datasetDir}"), new DatasetLoadOptions
        {
            ValidationCount = valCount, ValidationSeed = valSeed, Normalization = norm,
            ImageSize = imageSize, Channels = channels,
            ChannelOrder = order,
        });
        if (!data.Train.SampleShape.SequenceEqual(stored.SampleShape))
            throw new InvalidDataException($"dataset images are {ShapeUtil.Format(data.Train.SampleShape)} but the model expects {ShapeUtil.Format(stored.SampleShape)}");
        var train = data.Train;
        var val = data.Validation ?? train.RandomSubset(Math.Min(5000, train.Count), valSeed);
        var test = data.Test;
        if (job.Subset is { } s)
        {
            if (s.Train is int nt) train = train.RandomSubset(Math.Min(nt, train.Count), s.Seed);
            if (s.Validation is int nv) val = val.RandomSubset(Math.Min(nv, val.Count), s.Seed + 1);
            if (s.Test is int ns) test = test.RandomSubset(Math.Min(ns, test.Count), s.Seed + 2);
        }
        var recipe = RecipeLoader.Parse(job.RecipeYaml, job.RecipeSource);
        var cj = new CompressionJob
        {
            Model = stored, Recipe = recipe, Train = train, Validation = val, Test = test, OutPath = outPath,
            MaxDropPp = job.MaxDropPp, Seed = job.Seed,
            Metadata = new Dictionary<string, string>
            {
                [ModelIO.DatasetKey] = job.DatasetText,
                [ModelIO.NormalizationKey] = data.Normalization.ToJson(),
                ["deepshrink.source"] = job.Model.Name,
                ["deepshrink.sweep_point"] = job.Id,
            },
            Log = log ?? (_ => { }),
        };
        CompressionResult r;
        bool met = true;
        try { r = Compressor.Run(cj); }
        catch (BudgetNotMetException e) { r = e.Result; met = false; }
        double latency = job.LatencyRuns > 0 ? LatencyMs(r.OutPath, test, job.LatencyRuns) : 0;
        return new PointResult
        {
            Id = job.Id, Index = job.Index, Axes = job.Axes, BudgetMet = met,
            BaselineAccuracy = r.BaselineAccuracy, CompressedAccuracy = r.CompressedAccuracy, AccuracyDropPp = Math.Round(r.DropPp, 4),
            DenseBytes = r.DenseBytes, CompressedBytes = r.CompressedBytes, Ratio = Math.Round(r.Ratio, 4),
            DszSha256 = BlobCache.Describe(r.OutPath).Sha256, LatencyMs = Math.Round(latency, 4),
            Seconds = Math.Round(sw.Elapsed.TotalSeconds, 3), Worker = worker, Threads = job.Threads,
        };
    }

    // Median batch-1 latency of the file on the runtime (first test image), after a warm-up.
    private static double LatencyMs(string path, ImageDataset test, int runs)
    {
        var m = InferenceModel.Load(path);
        var x = test.Sample(0);
        for (int i = 0; i < Math.Min(10, runs); i++) m.Run(x, 1);
        var t = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            m.Run(x, 1);
            t[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(t);
        return t[runs / 2];
    }
}

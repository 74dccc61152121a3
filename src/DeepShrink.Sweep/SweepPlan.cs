using System.Globalization;
using DeepShrink.Compression.Quantization;
using DeepShrink.Compression.Recipes;
using DeepShrink.Data;
using DeepShrink.Nn.IO;

namespace DeepShrink.Sweep;

/// <summary>A spec turned into jobs: the blobs they need (with their local paths here) and one job per grid point.</summary>
public sealed record SweepPlan(SweepSpec Spec, IReadOnlyList<PointJob> Jobs, IReadOnlyDictionary<string, string> LocalBlobs, string DatasetDir)
{
    /// <summary>Hashes the inputs and builds every point's job; any bad axis value fails here, before a job runs.</summary>
    public static SweepPlan Create(SweepSpec spec)
    {
        if (!File.Exists(spec.ModelPath)) throw new SweepSpecException($"model file not found: {spec.ModelPath}");
        var model = BlobCache.Describe(spec.ModelPath);
        string datasetText = spec.Dataset ?? ModelIO.Load(spec.ModelPath, InputHooks.Factories).Meta(ModelIO.DatasetKey) ?? "fashion-mnist";
        var ds = DatasetSpec.Parse(datasetText);
        if (ds.Kind == DatasetKind.ImageFolder) throw new SweepSpecException("image-folder datasets cannot be swept yet (use an IDX directory)");
        var files = ds.ResolveFiles();
        var dataset = new[] { files.TrainImages, files.TrainLabels, files.TestImages, files.TestLabels }.Select(p => BlobCache.Describe(p)).ToArray();
        var local = new Dictionary<string, string> { [model.Sha256] = spec.ModelPath };
        foreach (var (b, p) in dataset.Zip(new[] { files.TrainImages, files.TrainLabels, files.TestImages, files.TestLabels })) local[b.Sha256] = p;

        string baseRecipe;
        try { baseRecipe = RecipeLoader.LoadText(spec.Recipe); }
        catch (RecipeFormatException e) { throw new SweepSpecException(e.Message); }
        var jobs = new List<PointJob>();
        int index = 0;
        foreach (var point in spec.Grid())
        {
            string V(string k, string def) => point.FirstOrDefault(p => p.Key == k).Value ?? def;
            var maxDrop = V("max_drop", "");
            jobs.Add(new PointJob
            {
                Index = index++,
                Axes = point.ToDictionary(p => p.Key, p => p.Value),
                RecipeYaml = spec.RecipeFor(point, baseRecipe),
                RecipeSource = Path.GetFileName(spec.Recipe),
                Seed = ulong.Parse(V("seed", "42"), CultureInfo.InvariantCulture),
                MaxDropPp = maxDrop.Length == 0 ? null : double.Parse(maxDrop, CultureInfo.InvariantCulture),
                Model = model, DatasetFamily = ds.Name, DatasetText = datasetText, DatasetFiles = dataset,
                Subset = spec.Subset, Threads = spec.ThreadsPerJob, LatencyRuns = spec.LatencyRuns,
            }.WithId());
        }
        var dup = jobs.GroupBy(j => j.Id).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new SweepSpecException($"points {string.Join(" and ", dup.Select(j => j.Index))} are the same job (an axis value changes nothing)");
        return new SweepPlan(spec, jobs, local, ds.Directory);
    }
}

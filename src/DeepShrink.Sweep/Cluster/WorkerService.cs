using DeepShrink.Compression;

namespace DeepShrink.Sweep.Cluster;

/// <summary>
/// A silo's worker: a fixed number of job slots, a verified blob cache (each blob fetched once from the
/// cluster by hash), and the job execution itself (<see cref="PointRunner"/>, the same code as an embedded sweep).
/// </summary>
public sealed class WorkerService(IGrainFactory grains, int slots, string cacheDir, string name)
{
    private readonly SemaphoreSlim _slots = new(slots, slots);
    private readonly BlobCache _cache = new(cacheDir);

    /// <summary>Worker name (its silo endpoint).</summary>
    public string Name { get; } = name;
    /// <summary>Jobs run at once.</summary>
    public int Slots { get; } = slots;

    private int _running, _completed;

    /// <summary>Jobs running now.</summary>
    public int Running => Volatile.Read(ref _running);
    /// <summary>Jobs finished here (successfully) since start.</summary>
    public int Completed => Volatile.Read(ref _completed);

    internal bool TryTakeSlot()
    {
        if (!_slots.Wait(0)) return false;
        Interlocked.Increment(ref _running);
        return true;
    }

    internal void ReleaseSlot()
    {
        Interlocked.Decrement(ref _running);
        _slots.Release();
    }

    /// <summary>Runs a job: fetches and verifies its blobs, compresses, returns the result and the .dsz bytes.</summary>
    public (PointResult Result, byte[] Dsz) Execute(PointJob job)
    {
        byte[]? Fetch(string sha) => grains.GetGrain<IBlobGrain>(sha).Get().GetAwaiter().GetResult();
        string Path(BlobRef b) => _cache.Get(b, Fetch);
        var model = Path(job.Model);
        // the model keeps its file extension (the loader picks .safetensors / .dsz by content and name)
        var modelDir = _cache.LayOut([job.Model with { Name = "model" + System.IO.Path.GetExtension(job.Model.Name) }], _ => model);
        var dataDir = _cache.LayOut(job.DatasetFiles, Path);
        var work = Directory.CreateTempSubdirectory("deepshrink-job-");
        try
        {
            var outPath = System.IO.Path.Combine(work.FullName, job.Id + ".dsz");
            var r = PointRunner.Run(job, System.IO.Path.Combine(modelDir, "model" + System.IO.Path.GetExtension(job.Model.Name)), dataDir, outPath, Name);
            var bytes = File.ReadAllBytes(r.BudgetMet ? outPath : Compressor.BesidePath(outPath));
            Interlocked.Increment(ref _completed);
            return (r, bytes);
        }
        finally { work.Delete(recursive: true); }
    }
}

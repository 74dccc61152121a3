using System.Text.Json;
using Orleans.Placement;

namespace DeepShrink.Sweep.Cluster;

/// <summary>Holds one blob in memory.</summary>
public sealed class BlobGrain : Grain, IBlobGrain
{
    private byte[]? _data;

    /// <inheritdoc/>
    public Task Put(byte[] data)
    {
        if (BlobCache.Hash(data) != this.GetPrimaryKeyString()) throw new InvalidDataException("blob bytes do not match their hash");
        _data = data;
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<byte[]?> Get() => Task.FromResult(_data);
}

/// <summary>
/// Runs one job attempt on this silo's worker: takes a slot or answers Busy, computes on a dedicated thread
/// (off the grain scheduler) and keeps the reply for the client's polls.
/// </summary>
[RandomPlacement]
public sealed class JobGrain(WorkerService worker) : Grain, IJobGrain
{
    private volatile JobReply _reply = new(JobState.NotStarted);
    private Task? _run;

    /// <inheritdoc/>
    public Task<JobReply> Start(string jobJson)
    {
        if (_run is not null) return Poll();
        if (!worker.TryTakeSlot())
        {
            DeactivateOnIdle();
            return Task.FromResult(new JobReply(JobState.Busy, Silo: worker.Name));
        }
        var job = JsonSerializer.Deserialize<PointJob>(jobJson, SweepJson.Options) ?? throw new ArgumentException("empty job");
        _reply = new JobReply(JobState.Running, Silo: worker.Name);
        _run = Task.Factory.StartNew(() =>
        {
            try
            {
                var (result, dsz) = worker.Execute(job);
                _reply = new JobReply(JobState.Done, JsonSerializer.Serialize(result, SweepJson.Options), dsz, Silo: worker.Name);
            }
            catch (BlobMissingException e) { _reply = new JobReply(JobState.BlobMissing, Error: e.Sha256, Silo: worker.Name); }
            catch (Exception e) { _reply = new JobReply(JobState.Failed, Error: e.Message, Silo: worker.Name); }
            finally { worker.ReleaseSlot(); }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return Task.FromResult(_reply);
    }

    /// <inheritdoc/>
    public Task<JobReply> Poll() => Task.FromResult(_reply);
}

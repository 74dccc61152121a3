using System.Text.Json;
using DeepShrink.Compression.Jobs;

namespace DeepShrink.Sweep.Cluster;

/// <summary>
/// Runs points on the cluster: each attempt is a fresh job grain (random placement); the client polls it. A
/// worker that is lost (calls fail, or a fresh activation answers NotStarted) or busy makes the client try a new
/// attempt; a lost blob is uploaded again. The result reaches the results folder only through the client, once
/// per job id, so a job that ran twice (its first worker died late) is still recorded once.
/// </summary>
public sealed class ClusterPointRunner(IClusterClient client, IReadOnlyDictionary<string, string> localBlobs, Action<string> log) : IJobRunner<PointJob, PointOutcome>
{
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private int _attempts;

    /// <summary>Poll period.</summary>
    public TimeSpan PollPeriod { get; init; } = TimeSpan.FromMilliseconds(250);
    /// <summary>Attempts per job before it is reported failed.</summary>
    public int MaxAttempts { get; init; } = 200;
    /// <summary>Attempts made so far (all jobs; a Busy answer counts).</summary>
    public int Attempts => _attempts;

    /// <summary>Uploads every blob of the sweep (before the first job, and again when one is lost).</summary>
    public async Task UploadAsync(IEnumerable<BlobRef> blobs)
    {
        foreach (var b in blobs.DistinctBy(b => b.Sha256)) await Upload(b.Sha256).ConfigureAwait(false);
    }

    private Task Upload(string sha) => client.GetGrain<IBlobGrain>(sha).Put(File.ReadAllBytes(localBlobs[sha]));

    /// <inheritdoc/>
    public async Task<PointOutcome> RunAsync(PointJob job, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.Serialize(job, SweepJson.Options);
        string? lastError = null;
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Interlocked.Increment(ref _attempts);
            var grain = client.GetGrain<IJobGrain>($"{_run}/{job.Id}/{attempt}");
            JobReply reply;
            try { reply = await grain.Start(json).ConfigureAwait(false); }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {   // the chosen silo is gone or unreachable: another attempt lands elsewhere
                lastError = e.Message;
                await Task.Delay(500, cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (reply.State == JobState.Busy) { await Task.Delay(100, cancellationToken).ConfigureAwait(false); continue; }
            while (reply.State == JobState.Running)
            {
                await Task.Delay(PollPeriod, cancellationToken).ConfigureAwait(false);
                try { reply = await grain.Poll().ConfigureAwait(false); }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    lastError = e.Message;
                    reply = new JobReply(JobState.NotStarted);
                }
            }
            switch (reply.State)
            {
                case JobState.Done:
                    var r = JsonSerializer.Deserialize<PointResult>(reply.ResultJson!, SweepJson.Options)!;
                    return new PointOutcome(r with { Index = job.Index }, reply.Dsz);
                case JobState.Failed:
                    throw new InvalidOperationException($"on {reply.Silo}: {reply.Error}");
                case JobState.BlobMissing:
                    log($"  blob {reply.Error![..12]} lost with its silo: uploading it again");
                    try { await Upload(reply.Error!).ConfigureAwait(false); } catch (Exception e) { lastError = e.Message; }
                    break;
                default:
                    log($"  point {job.Index}: its worker was lost (attempt {attempt + 1}), retrying elsewhere");
                    await Task.Delay(500, cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
        throw new TimeoutException($"point {job.Index} failed after {MaxAttempts} attempts (last error: {lastError})");
    }

    /// <summary>Job slots of the active silos (the client's pool size): silo count × <paramref name="slotsPerSilo"/>.</summary>
    public static async Task<int> ClusterSlotsAsync(IClusterClient client, int slotsPerSilo)
    {
        var hosts = await client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).ConfigureAwait(false);
        return Math.Max(1, hosts.Count * slotsPerSilo);
    }
}

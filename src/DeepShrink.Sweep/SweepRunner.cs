using System.Diagnostics;
using DeepShrink.Compression.Jobs;

namespace DeepShrink.Sweep;

/// <summary>A finished job: its result and, when it ran elsewhere, the bytes of its .dsz.</summary>
public sealed record PointOutcome(PointResult Result, byte[]? Dsz);

/// <summary>What a sweep run did.</summary>
public sealed record SweepReport(int Points, int Reused, int Ran, IReadOnlyList<(int Index, string Error)> Failed,
    IReadOnlyList<PointResult> Results, IReadOnlyList<PointResult> Pareto, double Seconds);

/// <summary>
/// Runs a sweep plan on a <see cref="JobPool"/>: points whose result is already in the results folder are
/// skipped (resume), every other point is run by a runner (embedded or cluster) and recorded exactly once, as it
/// finishes; the summary and the Pareto front are written at the end (also when some points failed).
/// </summary>
public static class SweepRunner
{
    /// <summary>Runs the pending points of <paramref name="plan"/> with <paramref name="workers"/> at once.</summary>
    public static async Task<SweepReport> RunAsync(SweepPlan plan, SweepResults results, int workers,
        Func<int, IJobRunner<PointJob, PointOutcome>> runnerFor, Action<string> log, CancellationToken cancellationToken = default)
    {
        var sw = Stopwatch.StartNew();
        var pending = plan.Jobs.Where(j => !results.Done.ContainsKey(j.Id)).ToList();
        int reused = plan.Jobs.Count - pending.Count;
        log($"sweep '{plan.Spec.Name}': {plan.Jobs.Count} points, {reused} already in {results.OutDir}, {pending.Count} to run on {workers} worker(s)");
        var failed = new List<(int, string)>();
        int ran = 0;
        await new JobPool(workers).RunAsync(pending, runnerFor,
            (i, o) =>
            {
                if (results.Add(o.Result, o.Dsz)) ran++;
                var r = o.Result;
                log($"  [{results.Done.Count}/{plan.Jobs.Count}] point {r.Index} ({SweepSpec.Describe(pending[i].Axes.Select(kv => (kv.Key, kv.Value)).ToList())}): "
                    + $"acc {r.CompressedAccuracy:P2} (drop {r.AccuracyDropPp:F2} pp{(r.BudgetMet ? "" : ", over budget")}), {r.CompressedBytes:N0} B ({r.Ratio:F1}x), "
                    + $"{r.LatencyMs:F3} ms, {r.Seconds:F1} s on {r.Worker}");
            },
            (i, e) =>
            {
                failed.Add((pending[i].Index, e.Message));
                log($"  point {pending[i].Index} failed: {e.Message}");
                return true;
            }, cancellationToken).ConfigureAwait(false);
        var front = results.WriteSummary(plan.Jobs);
        var all = plan.Jobs.Where(j => results.Done.ContainsKey(j.Id)).Select(j => results.Done[j.Id]).ToList();
        return new SweepReport(plan.Jobs.Count, reused, ran, failed, all, front, sw.Elapsed.TotalSeconds);
    }
}

/// <summary>Runs points in this process, on the pool worker's thread, reading the original model and dataset files.</summary>
public sealed class EmbeddedPointRunner(SweepPlan plan, SweepResults results) : IJobRunner<PointJob, PointOutcome>
{
    /// <inheritdoc/>
    public Task<PointOutcome> RunAsync(PointJob job, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var r = PointRunner.Run(job, plan.LocalBlobs[job.Model.Sha256], plan.DatasetDir, results.DszPath(job.Id), "embedded");
        return Task.FromResult(new PointOutcome(r, null));
    }
}

/// <summary>The two ways to run a sweep, as the CLI and the tests use them.</summary>
public static class Sweeps
{
    /// <summary>In this process on <paramref name="workers"/> workers (default: cores / threads per job).</summary>
    public static Task<SweepReport> RunEmbeddedAsync(SweepPlan plan, SweepResults results, int? workers, Action<string> log, CancellationToken ct = default)
        => SweepRunner.RunAsync(plan, results, workers ?? JobPool.ForMachine(plan.Spec.ThreadsPerJob).Workers,
            _ => new EmbeddedPointRunner(plan, results), log, ct);

    /// <summary>On a running cluster through <paramref name="client"/>: uploads the blobs, then keeps <paramref name="workers"/> jobs in flight (default: active silos × slots per silo).</summary>
    public static async Task<SweepReport> RunClusterAsync(SweepPlan plan, SweepResults results, IClusterClient client, int slotsPerSilo, int? workers,
        Action<string> log, CancellationToken ct = default)
    {
        var runner = new Cluster.ClusterPointRunner(client, plan.LocalBlobs, log);
        if (plan.Jobs.Any(j => !results.Done.ContainsKey(j.Id)))
            await runner.UploadAsync(plan.Jobs[0].Blobs).ConfigureAwait(false);
        int n = workers ?? await Cluster.ClusterPointRunner.ClusterSlotsAsync(client, slotsPerSilo).ConfigureAwait(false);
        var report = await SweepRunner.RunAsync(plan, results, n, _ => runner, log, ct).ConfigureAwait(false);
        log($"cluster: {runner.Attempts} job attempts for {report.Ran} new results");
        return report;
    }
}

namespace DeepShrink.Compression.Jobs;

/// <summary>
/// A bounded pool of workers over a list of independent jobs: worker <c>w</c> (0 ≤ w &lt; <see cref="Workers"/>)
/// takes the next job from a shared queue and runs it with its own runner, until the queue is empty.
/// Results are reported by job index as they finish (<c>onResult</c> is called under a lock, one at a time), so
/// the outcome does not depend on the number of workers or on their timing, only on each job's inputs.
/// </summary>
public sealed class JobPool
{
    /// <summary>Creates a pool of <paramref name="workers"/> workers (≥ 1).</summary>
    public JobPool(int workers)
    {
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), $"workers must be >= 1, got {workers}");
        Workers = workers;
    }

    /// <summary>Number of jobs run at once.</summary>
    public int Workers { get; }

    /// <summary>Pool sized to this machine: <c>cores / threadsPerJob</c>, at least 1.</summary>
    public static JobPool ForMachine(int threadsPerJob = 1) => new(Math.Max(1, Environment.ProcessorCount / Math.Max(1, threadsPerJob)));

    /// <summary>
    /// Runs every job; <paramref name="runnerFor"/> gives worker <c>w</c> its runner (called once per worker that starts).
    /// The first failing job cancels the others and its exception is rethrown, unless <paramref name="onError"/>
    /// handles it (returns true: recorded by the caller, the pool goes on).
    /// </summary>
    public async Task RunAsync<TJob, TResult>(IReadOnlyList<TJob> jobs, Func<int, IJobRunner<TJob, TResult>> runnerFor,
        Action<int, TResult> onResult, Func<int, Exception, bool>? onError = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(runnerFor);
        ArgumentNullException.ThrowIfNull(onResult);
        int next = -1;
        var gate = new object();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        async Task Worker(int w)
        {
            IJobRunner<TJob, TResult>? runner = null;
            while (!cts.IsCancellationRequested)
            {
                int i = Interlocked.Increment(ref next);
                if (i >= jobs.Count) return;
                runner ??= runnerFor(w);
                try
                {
                    var r = await runner.RunAsync(jobs[i], cts.Token).ConfigureAwait(false);
                    lock (gate) onResult(i, r);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cts.IsCancellationRequested)
                {
                    bool handled;
                    lock (gate) handled = onError?.Invoke(i, e) ?? false;
                    if (!handled) { cts.Cancel(); throw; }
                }
            }
        }
        // Each worker on its own long-running thread: a job may be minutes of synchronous compute.
        var tasks = Enumerable.Range(0, Math.Min(Workers, Math.Max(1, jobs.Count)))
            .Select(w => Task.Factory.StartNew(() => Worker(w), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap())
            .ToArray();
        try { await Task.WhenAll(tasks).ConfigureAwait(false); }
        catch when (tasks.FirstOrDefault(t => t.IsFaulted && t.Exception!.InnerException is not OperationCanceledException) is { } failed)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failed.Exception!.InnerException!).Throw();
        }
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Synchronous convenience: runs the jobs and returns the results in job order.</summary>
    public TResult[] Run<TJob, TResult>(IReadOnlyList<TJob> jobs, Func<int, Func<TJob, TResult>> workerFor)
    {
        var results = new TResult[jobs.Count];
        RunAsync(jobs, w => new FuncRunner<TJob, TResult>(workerFor(w)), (i, r) => results[i] = r).GetAwaiter().GetResult();
        return results;
    }

    private sealed class FuncRunner<TJob, TResult>(Func<TJob, TResult> run) : IJobRunner<TJob, TResult>
    {
        public Task<TResult> RunAsync(TJob job, CancellationToken cancellationToken) => Task.FromResult(run(job));
    }
}

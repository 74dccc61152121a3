namespace DeepShrink.Compression.Jobs;

/// <summary>
/// Runs one job of a batch (a sweep point, a sensitivity probe). Implementations decide where it runs:
/// in this process (one runner per pool worker, with that worker's own state, e.g. a model copy) or on
/// another machine (the Orleans cluster runner of DeepShrink.Sweep, shared by all pool workers).
/// </summary>
/// <typeparam name="TJob">What the job needs (its result must depend only on it).</typeparam>
/// <typeparam name="TResult">What it produces.</typeparam>
public interface IJobRunner<in TJob, TResult>
{
    /// <summary>Runs <paramref name="job"/> to completion.</summary>
    Task<TResult> RunAsync(TJob job, CancellationToken cancellationToken);
}

namespace DeepShrink.Sweep.Cluster;

/// <summary>State of a job on a worker.</summary>
[GenerateSerializer]
public enum JobState
{
    /// <summary>This activation has not been given the job (a fresh activation after its silo was lost).</summary>
    NotStarted,
    /// <summary>The worker's slots are all taken; try another grain.</summary>
    Busy,
    Running,
    Done,
    Failed,
    /// <summary>A blob could not be fetched (its holder was lost); the client uploads it again.</summary>
    BlobMissing,
}

/// <summary>A job's state as the worker reports it.</summary>
[GenerateSerializer, Immutable]
public sealed record JobReply(
    [property: Id(0)] JobState State,
    [property: Id(1)] string? ResultJson = null,
    [property: Id(2)] byte[]? Dsz = null,
    [property: Id(3)] string? Error = null,
    [property: Id(4)] string? Silo = null);

/// <summary>One attempt at one job (key: <c>RUN/JOBID/ATTEMPT</c>); placed at random, polled by the client.</summary>
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Starts the job (<c>PointJob</c> JSON) when this silo has a free slot (else <see cref="JobState.Busy"/>); idempotent.</summary>
    Task<JobReply> Start(string jobJson);
    /// <summary>Current state; <see cref="JobState.Done"/> carries the result and the .dsz bytes.</summary>
    Task<JobReply> Poll();
}

/// <summary>A content-addressed blob held in memory (key: its SHA-256); lost with its silo, then uploaded again.</summary>
public interface IBlobGrain : IGrainWithStringKey
{
    /// <summary>Stores the bytes (verified against the key).</summary>
    Task Put(byte[] data);
    /// <summary>The bytes, or null when this activation has none.</summary>
    Task<byte[]?> Get();
}

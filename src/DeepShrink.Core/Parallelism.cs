namespace DeepShrink.Core;

/// <summary>
/// Thread-count setting for kernels. Set once at start-up (CLI <c>--threads</c> or the
/// <c>DEEPSHRINK_THREADS</c> environment variable); kernels never change it.
/// </summary>
public static class Parallelism
{
    private static int s_degree = ReadDefault();

    private static int ReadDefault()
    {
        var env = Environment.GetEnvironmentVariable("DEEPSHRINK_THREADS");
        return int.TryParse(env, out int v) && v > 0 ? v : Environment.ProcessorCount;
    }

    /// <summary>Maximum number of threads a kernel may use (at least 1).</summary>
    public static int Degree
    {
        get => s_degree;
        set => s_degree = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), "thread count must be >= 1");
    }
}

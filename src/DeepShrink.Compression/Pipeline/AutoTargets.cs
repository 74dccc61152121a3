namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Loosening of automatic per-layer targets (<c>sparsity: auto</c>, chosen by <see cref="AutoLevel"/>) when a
/// retrained attempt misses the accuracy budget.
/// </summary>
public static class AutoTargets
{
    /// <summary>Backs a target off: the kept fraction grows by <paramref name="factor"/>.</summary>
    public static double BackOff(double sparsity, double factor = 1.5) => Math.Max(0, 1 - (1 - sparsity) * factor);
}

using DeepShrink.Core;

namespace DeepShrink.Compression.Pruning;

/// <summary>Settings of layer-wise Optimal Brain Surgeon pruning (<see cref="OptimalBrainSurgeon"/>).</summary>
public sealed record ObsOptions
{
    /// <summary>Damping lambda: H + lambda * mean(diag H) * I is inverted (1 % as in OBC/SparseGPT).</summary>
    public double Damping { get; init; } = 0.01;

    /// <summary>Removals whose inverse-Hessian downdates are applied together (work layout only; results do not depend on it).</summary>
    public int BlockSize { get; init; } = 32;

    /// <summary>
    /// True: a layer's removals are distributed over its rows by their OBS loss (OBC's global mask
    /// selection, two passes over the rows); false: every row gets the same sparsity (one pass).
    /// </summary>
    public bool BalanceRows { get; init; } = true;

    /// <summary>Threads over rows (0: <see cref="Parallelism.Degree"/>).</summary>
    public int Threads { get; init; }

    /// <summary>Throws on out-of-range settings.</summary>
    public void Validate()
    {
        if (!(Damping >= 0) || double.IsInfinity(Damping)) throw new ArgumentOutOfRangeException(nameof(Damping), $"damping must be a finite number >= 0, got {Damping}");
        if (BlockSize < 1) throw new ArgumentOutOfRangeException(nameof(BlockSize), $"block size must be >= 1, got {BlockSize}");
        if (Threads < 0) throw new ArgumentOutOfRangeException(nameof(Threads), $"threads must be >= 0, got {Threads}");
    }
}

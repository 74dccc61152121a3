namespace DeepShrink.Compression.LowRank;

/// <summary>
/// How to factorise one layer: the method and one rank rule (explicit ranks, retained energy, VBMF or a
/// cost budget). Validated by <see cref="Validate"/>; meant to be filled from a recipe component.
/// </summary>
public sealed record LowRankOptions
{
    /// <summary>Method names accepted by <see cref="Method"/>.</summary>
    public static readonly IReadOnlyList<string> Methods = new[] { "svd", "tucker2", "cp", "spatial-svd" };

    /// <summary>"svd" (linear), "tucker2", "cp" or "spatial-svd" (conv).</summary>
    public string Method { get; init; } = "svd";

    /// <summary>Explicit ranks: [r] for svd, cp, spatial-svd; [R_out, R_in] for tucker2.</summary>
    public int[]? Ranks { get; init; }

    /// <summary>Keep this fraction of the squared singular values (svd, spatial-svd: of the reshaped kernel; tucker2: of each unfolding).</summary>
    public double? Energy { get; init; }

    /// <summary>Tucker-2 ranks by VBMF on the unfoldings (tucker2 only).</summary>
    public bool Vbmf { get; init; }

    /// <summary>Largest ranks whose cost (see <see cref="CostKind"/>) is at most this.</summary>
    public long? Budget { get; init; }

    /// <summary>What <see cref="Budget"/> counts.</summary>
    public CostKind CostKind { get; init; } = CostKind.Parameters;

    /// <summary>Input spatial size (H, W) of a conv, for MAC budgets.</summary>
    public (int H, int W) InputSize { get; init; } = (1, 1);

    /// <summary>HOOI or ALS sweeps at most.</summary>
    public int MaxIterations { get; init; } = 100;

    /// <summary>Throws a one-line <see cref="ArgumentException"/> naming the offending option.</summary>
    public LowRankOptions Validate()
    {
        if (!Methods.Contains(Method)) throw new ArgumentException($"low-rank: method '{Method}' is not one of {string.Join(", ", Methods)}");
        int rules = (Ranks is null ? 0 : 1) + (Energy is null ? 0 : 1) + (Vbmf ? 1 : 0) + (Budget is null ? 0 : 1);
        if (rules != 1) throw new ArgumentException($"low-rank: give exactly one of ranks, energy, vbmf, budget (got {rules})");
        if (Ranks is not null && (Ranks.Length != (Method == "tucker2" ? 2 : 1) || Ranks.Any(r => r < 1)))
            throw new ArgumentException($"low-rank: ranks [{string.Join(", ", Ranks)}] must be {(Method == "tucker2" ? "two" : "one")} positive integer(s) for {Method}");
        if (Energy is double e && !(e > 0 && e <= 1)) throw new ArgumentException($"low-rank: energy {e} must be in (0, 1]");
        if (Energy is not null && Method == "cp") throw new ArgumentException("low-rank: energy does not apply to cp (use ranks or budget)");
        if (Vbmf && Method != "tucker2") throw new ArgumentException($"low-rank: vbmf applies to tucker2 only, not {Method}");
        if (Budget is long b && b < 1) throw new ArgumentException($"low-rank: budget {b} must be positive");
        if (InputSize.H < 1 || InputSize.W < 1) throw new ArgumentException($"low-rank: input size {InputSize} must be positive");
        if (MaxIterations < 1) throw new ArgumentException($"low-rank: max iterations {MaxIterations} must be at least 1");
        return this;
    }
}

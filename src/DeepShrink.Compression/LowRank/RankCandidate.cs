namespace DeepShrink.Compression.LowRank;

/// <summary>One way to factorise a layer: its ranks, what it costs and how much error it adds.</summary>
/// <param name="Ranks">The ranks (e.g. [r] for SVD/CP, [R_out, R_in] for Tucker-2); empty = keep the layer dense.</param>
/// <param name="Cost">Parameters, MACs or measured latency units, whatever the budget counts.</param>
/// <param name="Error">Error estimate (e.g. squared Frobenius reconstruction error, or a measured loss increase).</param>
public sealed record RankCandidate(int[] Ranks, long Cost, double Error)
{
    /// <summary>True when the candidate keeps the original dense layer.</summary>
    public bool IsDense => Ranks.Length == 0;
}

/// <summary>The candidates of one layer for <see cref="GlobalRankAllocator"/>.</summary>
/// <param name="Name">Layer name (e.g. "fc1"), carried through to the result.</param>
/// <param name="Candidates">At least one candidate; costs must be non-negative and errors finite.</param>
/// <param name="Sensitivity">Multiplies every error of this layer (per-layer sensitivity, default 1).</param>
public sealed record LayerCandidates(string Name, IReadOnlyList<RankCandidate> Candidates, double Sensitivity = 1);

/// <summary>The chosen candidate per layer (in input order) with the totals.</summary>
/// <param name="Choices">Layer name and chosen candidate, in the order of the input layers.</param>
/// <param name="TotalCost">Sum of the chosen costs (at most the budget).</param>
/// <param name="TotalError">Sum of sensitivity times error over layers.</param>
public sealed record RankAllocation(IReadOnlyList<(string Name, RankCandidate Choice)> Choices, long TotalCost, double TotalError);

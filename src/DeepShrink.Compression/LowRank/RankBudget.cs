namespace DeepShrink.Compression.LowRank;

/// <summary>A whole-network budget for the low-rank component: the compressed network's cost at most <see cref="Fraction"/> of its cost before.</summary>
/// <param name="Kind">What is counted: <see cref="CostKind.Macs"/> (recipe key <c>flops</c>) or <see cref="CostKind.Parameters"/> (<c>params</c>).</param>
/// <param name="Fraction">Budget as a fraction of the network's total before factorisation, in (0, 1).</param>
public sealed record RankTarget(CostKind Kind, double Fraction)
{
    /// <summary>The recipe key of <see cref="Kind"/>.</summary>
    public string Key => Kind == CostKind.Macs ? "flops" : "params";
}

/// <summary>One layer the component may factorise: the layer, its method and input spatial size.</summary>
/// <param name="Name">Node name.</param>
/// <param name="Layer">The layer's weights and geometry.</param>
/// <param name="Method"><c>svd</c>, <c>tucker2</c>, <c>cp</c> or <c>spatial-svd</c>.</param>
/// <param name="InputSize">Input spatial size (H, W) of a conv; (1, 1) for a linear layer.</param>
public sealed record BudgetLayer(string Name, FactorLayer Layer, string Method, (int H, int W) InputSize)
{
    /// <summary>The dense layer's cost.</summary>
    public long DenseCost(CostKind kind) => kind == CostKind.Macs ? Layer.Macs(InputSize.H, InputSize.W) : Layer.Parameters;

    /// <summary>Ranks of the method at a fraction of each factorised mode's full size (at least 1).</summary>
    public int[] RanksAt(double fraction)
    {
        if (Method == "svd") return [Scale(fraction, LinearSvd.MaxRank(Layer))];
        var (og, cg, _, _, _) = Tucker2.Dims(Layer);
        return Method switch
        {
            "tucker2" => [Scale(fraction, og), Scale(fraction, cg)],
            "cp" => [Scale(fraction, Math.Max(og, cg))],
            "spatial-svd" => [Scale(fraction, SpatialSvd.MaxRank(Layer))],
            _ => throw new ArgumentException($"low-rank: method '{Method}' is not svd, tucker2, cp or spatial-svd"),
        };
    }

    /// <summary>Parameters or MACs of the factor sequence at <paramref name="ranks"/>.</summary>
    public long Cost(int[] ranks, CostKind kind) => Method switch
    {
        "svd" => LinearSvd.Cost(Layer, ranks[0], kind),
        "tucker2" => Tucker2.Cost(Layer, ranks[0], ranks[1], kind, InputSize.H, InputSize.W),
        "cp" => CpConv.Cost(Layer, ranks[0], kind, InputSize.H, InputSize.W),
        _ => SpatialSvd.Cost(Layer, ranks[0], kind, InputSize.H, InputSize.W),
    };

    /// <summary>Factorises at explicit ranks.</summary>
    public Factorization Decompose(int[] ranks, int maxIterations)
        => LowRankDecomposer.Decompose(Layer, new LowRankOptions { Method = Method, Ranks = ranks, MaxIterations = maxIterations, InputSize = InputSize });

    private static int Scale(double fraction, int max) => Math.Clamp((int)Math.Ceiling(fraction * max - 1e-9), 1, max);
}

/// <summary>
/// Distributes one whole-network budget over the factorisable layers: globally (<see cref="GlobalRankAllocator"/> over
/// per-layer candidates whose error is the measured loss increase, or the relative reconstruction error) or uniformly
/// (one rank fraction for every layer, the largest that fits).
/// </summary>
/// <remarks>
/// Global: every layer gets candidates at the rank fractions of <see cref="Fractions"/> plus its dense form. With
/// <c>error: loss</c> the error of a candidate is the increase of the calibration loss when that layer alone is replaced
/// by its approximation (per-layer sensitivity measured directly, as in the data-driven rank selection of Zhang et al.
/// 2016, "Accelerating very deep convolutional networks for classification and detection", and the greedy
/// accuracy-per-cost pruning of Molchanov et al. 2017), so the allocator spends the budget where a unit of cost buys
/// the least loss. With <c>error: frobenius</c> it is the squared relative reconstruction error (no data).
/// </remarks>
public static class RankBudget
{
    /// <summary>Rank fractions of the global candidates (of each factorised mode's full size).</summary>
    public static readonly double[] Fractions = [0.03, 0.05, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8];

    /// <summary>HOOI / ALS sweeps when scoring candidates (the final factorisation runs more).</summary>
    public const int CandidateIterations = 15;

    /// <summary>
    /// Chosen ranks per layer name (null: keep dense), with total cost at most <paramref name="budget"/> when the
    /// fixed cost (everything not in <paramref name="layers"/>) is <paramref name="fixedCost"/>.
    /// </summary>
    /// <param name="layers">Layers that may be factorised.</param>
    /// <param name="kind">What the budget counts.</param>
    /// <param name="fixedCost">Cost of the rest of the network.</param>
    /// <param name="budget">Total cost allowed.</param>
    /// <param name="uniform">One rank fraction for all layers instead of the global allocation.</param>
    /// <param name="lossIncrease">For the loss error: the calibration-loss increase when a layer's weight is replaced by the
    /// given approximation (null: squared relative reconstruction error).</param>
    /// <param name="log">Progress lines.</param>
    public static Dictionary<string, int[]?> Allocate(IReadOnlyList<BudgetLayer> layers, CostKind kind, long fixedCost, long budget,
        bool uniform, Func<BudgetLayer, float[], double>? lossIncrease, Action<string>? log = null)
    {
        long cheapest = fixedCost + layers.Sum(l => Math.Min(l.DenseCost(kind), l.Cost(l.RanksAt(0), kind)));
        if (budget < cheapest)
            throw new ArgumentException($"low-rank: the target of {budget:N0} {Unit(kind)} cannot be met: the cheapest factorisation of every covered layer gives {cheapest:N0} ({(double)cheapest / (fixedCost + layers.Sum(l => l.DenseCost(kind))):F3} of the network)");
        if (layers.Count == 0) return new Dictionary<string, int[]?>();
        return uniform ? Uniform(layers, kind, fixedCost, budget, log) : Global(layers, kind, fixedCost, budget, lossIncrease, log);
    }

    private static string Unit(CostKind kind) => kind == CostKind.Macs ? "MACs" : "parameters";

    /// <summary>The layer's ranks at a fraction, or null when they cost at least the dense layer.</summary>
    private static int[]? At(BudgetLayer l, double f, CostKind kind)
    {
        var r = l.RanksAt(f);
        return l.Cost(r, kind) < l.DenseCost(kind) ? r : null;
    }

    private static long Total(IReadOnlyList<BudgetLayer> layers, CostKind kind, long fixedCost, Func<BudgetLayer, int[]?> ranks)
        => fixedCost + layers.Sum(l => ranks(l) is { } r ? l.Cost(r, kind) : l.DenseCost(kind));

    private static Dictionary<string, int[]?> Uniform(IReadOnlyList<BudgetLayer> layers, CostKind kind, long fixedCost, long budget, Action<string>? log)
    {
        // Cost is non-decreasing in the fraction (ranks are ceilings): bisection for the largest fraction that fits.
        double lo = 0, hi = 1;
        if (Total(layers, kind, fixedCost, l => At(l, 1, kind)) <= budget) lo = 1;
        for (int i = 0; i < 50 && lo < 1; i++)
        {
            double mid = (lo + hi) / 2;
            if (Total(layers, kind, fixedCost, l => At(l, mid, kind)) <= budget) lo = mid; else hi = mid;
        }
        log?.Invoke($"low-rank uniform allocation: rank fraction {lo:F4}");
        return layers.ToDictionary(l => l.Name, l => At(l, lo, kind));
    }

    private static Dictionary<string, int[]?> Global(IReadOnlyList<BudgetLayer> layers, CostKind kind, long fixedCost, long budget,
        Func<BudgetLayer, float[], double>? lossIncrease, Action<string>? log)
    {
        var lists = new List<LayerCandidates>();
        foreach (var l in layers)
        {
            var list = new List<RankCandidate> { new([], l.DenseCost(kind), 0) };
            foreach (double f in Fractions.Append(0))
            {
                var r = At(l, f, kind);
                if (r is null || list.Any(c => c.Ranks.SequenceEqual(r))) continue;
                var fac = l.Decompose(r, CandidateIterations);
                double rel2 = fac.RelativeError * fac.RelativeError;
                // The measured loss increase; the reconstruction error breaks ties (and orders candidates the loss cannot tell apart).
                double err = lossIncrease is null ? rel2 : Math.Max(0, lossIncrease(l, fac.Approximation)) + 1e-6 * rel2;
                list.Add(new RankCandidate(r, l.Cost(r, kind), err));
            }
            lists.Add(new LayerCandidates(l.Name, list));
            log?.Invoke($"low-rank candidates {l.Name}: " + string.Join(" ", list.Skip(1).Select(c => $"[{string.Join("/", c.Ranks)}] {c.Error:G3}")));
        }
        var alloc = GlobalRankAllocator.Allocate(lists, budget - fixedCost);
        return alloc.Choices.ToDictionary(c => c.Name, c => c.Choice.IsDense ? null : c.Choice.Ranks);
    }
}

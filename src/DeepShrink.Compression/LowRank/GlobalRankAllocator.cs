namespace DeepShrink.Compression.LowRank;

/// <summary>
/// A global (cross-layer) rank budget: picks one candidate per layer so that the total cost is within the
/// budget, spending the compression where it hurts least.
/// </summary>
/// <remarks>
/// Greedy marginal analysis (as in Everett 1963's generalised Lagrange multipliers; the same rule as
/// Zhang et al. 2016's rank selection for "Accelerating very deep convolutional networks", which
/// maximises retained energy per complexity): start with every layer at its most expensive candidate;
/// while the total exceeds the budget, take the downgrade with the smallest increase of sensitivity *
/// error per unit of cost saved, over all layers and all cheaper candidates of each layer (looking past
/// the next step copes with non-convex error curves). Then spend any slack on the upgrades with the
/// largest error decrease per unit cost that still fit. For convex error-versus-cost curves the first phase
/// follows the Lagrangian lower envelope, i.e. every prefix is optimal for its own total cost.
/// </remarks>
public static class GlobalRankAllocator
{
    /// <summary>Chooses one candidate per layer with total cost at most <paramref name="budget"/>.</summary>
    public static RankAllocation Allocate(IReadOnlyList<LayerCandidates> layers, long budget)
    {
        if (layers.Count == 0) throw new ArgumentException("rank budget: no layers");
        var sorted = layers.Select(Sorted).ToArray();
        var pos = sorted.Select(c => c.Length - 1).ToArray();
        long total = Enumerable.Range(0, sorted.Length).Sum(i => sorted[i][pos[i]].Cost);
        while (total > budget)
        {
            var (layer, to) = BestMove(sorted, layers, pos, down: true, slack: 0);
            if (layer < 0)
            {
                long min = sorted.Sum(c => c[0].Cost);
                throw new ArgumentException($"rank budget: {budget} is below the cheapest possible total {min}");
            }
            total += sorted[layer][to].Cost - sorted[layer][pos[layer]].Cost;
            pos[layer] = to;
        }
        while (true)
        {
            var (layer, to) = BestMove(sorted, layers, pos, down: false, slack: budget - total);
            if (layer < 0) break;
            total += sorted[layer][to].Cost - sorted[layer][pos[layer]].Cost;
            pos[layer] = to;
        }
        var choices = layers.Select((l, i) => (l.Name, sorted[i][pos[i]])).ToArray();
        double err = layers.Select((l, i) => l.Sensitivity * sorted[i][pos[i]].Error).Sum();
        return new RankAllocation(choices, total, err);
    }

    /// <summary>
    /// Truncated-SVD candidates of a linear layer: every rank whose cost is below the dense layer's, plus the
    /// dense layer itself (error 0); the error of rank r is the squared Frobenius error sum_{i&gt;=r} s_i^2.
    /// </summary>
    public static LayerCandidates SvdCandidates(string name, FactorLayer linear, CostKind kind, double sensitivity = 1)
    {
        if (!linear.IsLinear) throw new ArgumentException($"rank budget: {name} is not a linear layer");
        var s = Svd.Values(Svd.ToDouble(linear.Weight), linear.OutChannels, linear.InChannels);
        long dense = kind == CostKind.Macs ? linear.Weight.Length : linear.Parameters;
        var list = new List<RankCandidate> { new(Array.Empty<int>(), dense, 0) };
        double tail = s.Sum(x => x * x);
        for (int r = 1; r <= s.Length; r++)
        {
            tail -= s[r - 1] * s[r - 1];
            long cost = LinearSvd.Cost(linear, r, kind);
            if (cost >= dense) break;
            list.Add(new RankCandidate(new[] { r }, cost, Math.Max(tail, 0)));
        }
        return new LayerCandidates(name, list, sensitivity);
    }

    private static RankCandidate[] Sorted(LayerCandidates layer)
    {
        if (layer.Candidates.Count == 0) throw new ArgumentException($"rank budget: layer {layer.Name} has no candidates");
        if (!(layer.Sensitivity >= 0) || double.IsInfinity(layer.Sensitivity)) throw new ArgumentException($"rank budget: layer {layer.Name} has sensitivity {layer.Sensitivity}");
        foreach (var c in layer.Candidates)
            if (c.Cost < 0 || !double.IsFinite(c.Error))
                throw new ArgumentException($"rank budget: layer {layer.Name} has a candidate with cost {c.Cost} and error {c.Error}");
        return layer.Candidates.OrderBy(c => c.Cost).ThenBy(c => c.Error).ToArray();
    }

    /// <summary>
    /// Down: the cheaper candidate with the least error increase per cost saved. Up: the dearer candidate,
    /// costing at most the slack more, with the largest error decrease per cost added. (-1, -1) when none.
    /// </summary>
    private static (int Layer, int To) BestMove(RankCandidate[][] sorted, IReadOnlyList<LayerCandidates> layers, int[] pos, bool down, long slack)
    {
        int bestLayer = -1, bestTo = -1;
        double bestRatio = 0;
        long bestSaved = 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            var here = sorted[i][pos[i]];
            double w = layers[i].Sensitivity;
            int from = down ? 0 : pos[i] + 1, to = down ? pos[i] : sorted[i].Length;
            for (int q = from; q < to; q++)
            {
                var c = sorted[i][q];
                long dc = Math.Abs(here.Cost - c.Cost);
                double de = w * (c.Error - here.Error);
                if (down)
                {
                    if (dc == 0) continue;
                    double ratio = de / dc;
                    if (bestLayer < 0 || ratio < bestRatio || (ratio == bestRatio && dc > bestSaved))
                        (bestLayer, bestTo, bestRatio, bestSaved) = (i, q, ratio, dc);
                }
                else
                {
                    if (dc > slack || de >= 0) continue;
                    double ratio = dc == 0 ? double.NegativeInfinity : de / dc;
                    if (bestLayer < 0 || ratio < bestRatio) (bestLayer, bestTo, bestRatio) = (i, q, ratio);
                }
            }
        }
        return (bestLayer, bestTo);
    }
}

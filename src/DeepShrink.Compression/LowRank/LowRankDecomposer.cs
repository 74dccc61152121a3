namespace DeepShrink.Compression.LowRank;

/// <summary>
/// One entry point for every method and rank rule (what a recipe component calls per layer), and
/// candidate lists for <see cref="GlobalRankAllocator"/> on convolutions.
/// </summary>
public static class LowRankDecomposer
{
    /// <summary>Factorises <paramref name="layer"/> as <paramref name="options"/> say.</summary>
    public static Factorization Decompose(FactorLayer layer, LowRankOptions options)
    {
        options.Validate();
        layer.Validated();
        if ((options.Method == "svd") != layer.IsLinear)
            throw new ArgumentException($"low-rank: method {options.Method} does not apply to a {layer.Op} layer");
        var (h, w) = options.InputSize;
        switch (options.Method)
        {
            case "svd":
                if (options.Energy is double e) return LinearSvd.DecomposeByEnergy(layer, e);
                if (options.Budget is long b) return LinearSvd.DecomposeByBudget(layer, b, options.CostKind);
                return LinearSvd.Decompose(layer, options.Ranks![0]);
            case "tucker2":
                var (ro, ri) = options.Ranks is { } r ? (r[0], r[1])
                    : options.Energy is double te ? Tucker2.EnergyRanks(layer, te)
                    : options.Vbmf ? Tucker2.VbmfRanks(layer)
                    : Tucker2.RanksForBudget(layer, options.Budget!.Value, options.CostKind, h, w);
                return Tucker2.Decompose(layer, ro, ri, options.MaxIterations);
            case "cp":
                int rank = options.Ranks?[0] ?? CpConv.RankForBudget(layer, options.Budget!.Value, options.CostKind, h, w);
                return CpConv.Decompose(layer, rank, options.MaxIterations);
            default:
                int max = SpatialSvd.MaxRank(layer);
                int k = options.Ranks is { } sr ? sr[0]
                    : options.Energy is double se ? SpatialEnergyRank(layer, se)
                    : RankSelection.LargestFitting(max, q => SpatialSvd.Cost(layer, q, options.CostKind, h, w), options.Budget!.Value, "spatial-svd");
                return SpatialSvd.Decompose(layer, k);
        }
    }

    /// <summary>
    /// Candidates for the global allocation of a conv layer: the dense layer (error 0) and the method at each
    /// rank fraction (tucker2: of O_g and C_g; cp: of max(O_g, C_g); spatial-svd: of min(C_g kh, O_g kw)), with its measured squared Frobenius error. Candidates that
    /// cost at least the dense layer are dropped.
    /// </summary>
    public static LayerCandidates ConvCandidates(string name, FactorLayer conv, string method, IEnumerable<double> rankFractions,
        CostKind kind, int h = 1, int w = 1, int maxIterations = 30, double sensitivity = 1)
    {
        ConvParts.Check(conv, "rank budget");
        var (og, cg, _, _, _) = Tucker2.Dims(conv);
        long dense = kind == CostKind.Macs ? conv.Macs(h, w) : conv.Parameters;
        double norm2 = conv.Weight.Sum(x => (double)x * x);
        var list = new List<RankCandidate> { new(Array.Empty<int>(), dense, 0) };
        foreach (double f in rankFractions.Distinct())
        {
            if (!(f > 0 && f <= 1)) throw new ArgumentException($"rank budget: rank fraction {f} must be in (0, 1]");
            int[] ranks = method switch
            {
                "tucker2" => new[] { Scale(f, og), Scale(f, cg) },
                "cp" => new[] { Scale(f, Math.Max(og, cg)) },
                "spatial-svd" => new[] { Scale(f, SpatialSvd.MaxRank(conv)) },
                _ => throw new ArgumentException($"rank budget: method '{method}' is not tucker2, cp or spatial-svd"),
            };
            long cost = method switch
            {
                "tucker2" => Tucker2.Cost(conv, ranks[0], ranks[1], kind, h, w),
                "cp" => CpConv.Cost(conv, ranks[0], kind, h, w),
                _ => SpatialSvd.Cost(conv, ranks[0], kind, h, w),
            };
            if (cost >= dense || list.Any(c => c.Ranks.SequenceEqual(ranks))) continue;
            var opts = new LowRankOptions { Method = method, Ranks = ranks, MaxIterations = maxIterations };
            double err = Decompose(conv, opts).RelativeError;
            list.Add(new RankCandidate(ranks, cost, err * err * norm2));
        }
        return new LayerCandidates(name, list, sensitivity);
    }

    private static int Scale(double fraction, int max) => Math.Clamp((int)Math.Round(fraction * max), 1, max);

    private static int SpatialEnergyRank(FactorLayer conv, double energy)
    {
        int k = 1;
        for (int g = 0; g < conv.Groups; g++) k = Math.Max(k, RankSelection.ByEnergy(SpatialSvd.Spectrum(conv, g), energy));
        return k;
    }
}

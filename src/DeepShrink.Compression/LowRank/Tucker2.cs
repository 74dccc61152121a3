namespace DeepShrink.Compression.LowRank;

/// <summary>
/// Tucker-2 factorisation of a convolution (Kim et al. 2016): 1x1 conv C -&gt; R_in, kh x kw core conv
/// R_in -&gt; R_out carrying the original stride, padding and dilation, 1x1 conv R_out -&gt; O with the bias.
/// Grouped convolutions are decomposed per group (each layer keeps the group count).
/// </summary>
/// <remarks>
/// Kim, Park, Yoo, Choi, Yang, Shin 2016, "Compression of deep convolutional neural networks for fast
/// and low power mobile applications": K[o, c, y, x] ~ sum G[ro, ri, y, x] U_out[o, ro] U_in[c, ri]
/// computed by <see cref="Hooi"/>, ranks from VBMF on the mode-1 and mode-2 unfoldings (<see cref="Vbmf"/>)
/// or from retained energy. Per group the cost is R_in C_g HW + R_out R_in kh kw OH OW + O_g R_out OH OW MACs.
/// </remarks>
public static class Tucker2
{
    /// <summary>Factorises at ranks (outRank, inRank) per group by HOOI from a HOSVD start.</summary>
    public static Factorization Decompose(FactorLayer conv, int outRank, int inRank, int maxIterations = 50)
    {
        ConvParts.Check(conv, "tucker2");
        var (og, cg, kh, kw, g) = Dims(conv);
        if (outRank < 1 || outRank > og || inRank < 1 || inRank > cg)
            throw new ArgumentException($"tucker2: ranks ({outRank}, {inRank}) must be within 1..{og} (outputs per group) and 1..{cg} (inputs per group)");
        var first = new List<double[]>(); var core = new List<double[]>(); var last = new List<double[]>(); var approx = new List<double[]>();
        for (int gi = 0; gi < g; gi++)
        {
            var r = Hooi.Decompose(ConvParts.Group(conv, gi), og, cg, kh * kw, outRank, inRank, maxIterations);
            first.Add(r.InFactorT);                                   // [R_in, C_g]
            core.Add(r.Core);                                         // [R_out, R_in, kh, kw]
            last.Add(DoubleGemm.Transpose(r.OutFactorT, outRank, og)); // [O_g, R_out]
            approx.Add(r.Reconstruct());
        }
        var layers = new[]
        {
            ConvParts.Conv(ConvParts.Concat(first), g * inRank, cg, 1, 1, g),
            ConvParts.Conv(ConvParts.Concat(core), g * outRank, inRank, kh, kw, g, null, conv.Stride, conv.Padding, conv.Dilation),
            ConvParts.Conv(ConvParts.Concat(last), conv.OutChannels, outRank, 1, 1, g, conv.Bias),
        };
        var (a, err) = ConvParts.Approximation(conv, approx);
        return new Factorization("tucker2", conv, layers, new[] { outRank, inRank }, a, err);
    }

    /// <summary>Ranks by analytic empirical VBMF on the mode-1 (output) and mode-2 (input) unfoldings,
    /// the largest over groups, at least 1.</summary>
    public static (int OutRank, int InRank) VbmfRanks(FactorLayer conv) => SpectrumRanks(conv, (s, rows, cols) => Vbmf.Estimate(s, rows, cols).Rank);

    /// <summary>Ranks keeping <paramref name="energy"/> of each unfolding's squared singular values, largest over groups.</summary>
    public static (int OutRank, int InRank) EnergyRanks(FactorLayer conv, double energy) => SpectrumRanks(conv, (s, _, _) => RankSelection.ByEnergy(s, energy));

    /// <summary>Largest ranks (R_out, R_in) = (round(t O_g), round(t C_g)) over t in (0, 1] whose cost fits the budget;
    /// (h, w) is the input spatial size (for MACs).</summary>
    public static (int OutRank, int InRank) RanksForBudget(FactorLayer conv, long budget, CostKind kind, int h = 1, int w = 1)
    {
        ConvParts.Check(conv, "tucker2");
        var (og, cg, _, _, _) = Dims(conv);
        int steps = Math.Max(og, cg);
        (int, int) At(int k) => (Math.Max(1, (int)Math.Round((double)k * og / steps)), Math.Max(1, (int)Math.Round((double)k * cg / steps)));
        int best = RankSelection.LargestFitting(steps, k => { var (ro, ri) = At(k); return Cost(conv, ro, ri, kind, h, w); }, budget, "tucker2");
        return At(best);
    }

    /// <summary>Parameters or MACs (for input spatial size (h, w)) of the three-layer sequence.</summary>
    public static long Cost(FactorLayer conv, int outRank, int inRank, CostKind kind, int h = 1, int w = 1)
    {
        var (og, cg, kh, kw, g) = Dims(conv);
        long p1 = (long)g * inRank * cg, p2 = (long)g * outRank * inRank * kh * kw, p3 = (long)g * og * outRank;
        if (kind == CostKind.Parameters) return p1 + p2 + p3 + (conv.Bias?.Length ?? 0);
        var (oh, ow) = conv.OutputSize(h, w);
        return p1 * h * w + (p2 + p3) * oh * ow;
    }

    private static (int OutRank, int InRank) SpectrumRanks(FactorLayer conv, Func<double[], int, int, int> pick)
    {
        ConvParts.Check(conv, "tucker2");
        var (og, cg, kh, kw, g) = Dims(conv);
        var dims = new[] { og, cg, kh * kw };
        int ro = 1, ri = 1;
        for (int gi = 0; gi < g; gi++)
        {
            var t = ConvParts.Group(conv, gi);
            ro = Math.Max(ro, pick(ConvParts.UnfoldingSpectrum(t, dims, 0), og, cg * kh * kw));
            ri = Math.Max(ri, pick(ConvParts.UnfoldingSpectrum(t, dims, 1), cg, og * kh * kw));
        }
        return (Math.Min(ro, og), Math.Min(ri, cg));
    }

    internal static (int Og, int Cg, int Kh, int Kw, int G) Dims(FactorLayer conv)
        => (conv.OutChannels / conv.Groups, conv.WeightShape[1], conv.KernelH, conv.KernelW, conv.Groups);
}

namespace DeepShrink.Compression.LowRank;

/// <summary>
/// CP factorisation of a convolution (Lebedev et al. 2015) into four layers: 1x1 conv C -&gt; R,
/// kh x 1 depthwise conv (R groups; vertical stride, padding, dilation), 1 x kw depthwise conv
/// (horizontal stride, padding, dilation), 1x1 conv R -&gt; O with the bias. Grouped convolutions are
/// decomposed per group at rank R each (G R channels in the middle).
/// </summary>
/// <remarks>
/// Lebedev, Ganin, Rakhuba, Oseledets, Lempitsky 2015, "Speeding-up convolutional neural networks using
/// fine-tuned CP-decomposition": K[o, c, y, x] ~ sum_r U_o[o, r] U_c[c, r] U_y[y, r] U_x[x, r] (by
/// <see cref="CpAls"/>). Because the kernel and the zero padding both factor over the two spatial axes, the
/// vertical pass with padding (ph, 0) and stride (sh, 1) followed by the horizontal pass with padding (0, pw)
/// and stride (1, sw) equals the original convolution exactly when the decomposition is exact. The weights
/// lambda_r are spread as lambda^(1/4) over the four layers so their ranges stay alike.
/// Per group the cost is R C_g HW + R kh OH W + R kw OH OW + O_g R OH OW MACs.
/// </remarks>
public static class CpConv
{
    /// <summary>Factorises at rank R per group.</summary>
    public static Factorization Decompose(FactorLayer conv, int rank, int maxIterations = 500, double ridge = 1e-9, ulong seed = 7)
    {
        ConvParts.Check(conv, "cp");
        var (og, cg, kh, kw, g) = Tucker2.Dims(conv);
        if (rank < 1) throw new ArgumentException($"cp: rank {rank} must be at least 1");
        var dims = new[] { og, cg, kh, kw };
        var first = new List<double[]>(); var vert = new List<double[]>(); var horiz = new List<double[]>();
        var last = new List<double[]>(); var approx = new List<double[]>();
        for (int gi = 0; gi < g; gi++)
        {
            var cp = CpAls.Decompose(ConvParts.Group(conv, gi), dims, rank, maxIterations, ridge: ridge, seed: seed);
            var scale = cp.Weights.Select(l => Math.Pow(l, 0.25)).ToArray();
            first.Add(Columns(cp.Factors[1], cg, rank, scale));  // [R, C_g]
            vert.Add(Columns(cp.Factors[2], kh, rank, scale));   // [R, 1, kh, 1]
            horiz.Add(Columns(cp.Factors[3], kw, rank, scale));  // [R, 1, 1, kw]
            last.Add(Rows(cp.Factors[0], og, rank, scale));      // [O_g, R]
            approx.Add(cp.Reconstruct());
        }
        int mid = g * rank;
        var layers = new[]
        {
            ConvParts.Conv(ConvParts.Concat(first), mid, cg, 1, 1, g),
            ConvParts.Conv(ConvParts.Concat(vert), mid, 1, kh, 1, mid, null, (conv.Stride.H, 1), (conv.Padding.H, 0), (conv.Dilation.H, 1)),
            ConvParts.Conv(ConvParts.Concat(horiz), mid, 1, 1, kw, mid, null, (1, conv.Stride.W), (0, conv.Padding.W), (1, conv.Dilation.W)),
            ConvParts.Conv(ConvParts.Concat(last), conv.OutChannels, rank, 1, 1, g, conv.Bias),
        };
        var (a, err) = ConvParts.Approximation(conv, approx);
        return new Factorization("cp", conv, layers, new[] { rank }, a, err);
    }

    /// <summary>Largest rank R whose cost fits the budget; (h, w) is the input spatial size (for MACs).</summary>
    public static int RankForBudget(FactorLayer conv, long budget, CostKind kind, int h = 1, int w = 1, int maxRank = 4096)
    {
        ConvParts.Check(conv, "cp");
        return RankSelection.LargestFitting(maxRank, r => Cost(conv, r, kind, h, w), budget, "cp");
    }

    /// <summary>Parameters or MACs (for input spatial size (h, w)) of the four-layer sequence at rank R.</summary>
    public static long Cost(FactorLayer conv, int rank, CostKind kind, int h = 1, int w = 1)
    {
        var (og, cg, kh, kw, g) = Tucker2.Dims(conv);
        long mid = (long)g * rank;
        long p1 = mid * cg, p2 = mid * kh, p3 = mid * kw, p4 = (long)g * og * rank;
        if (kind == CostKind.Parameters) return p1 + p2 + p3 + p4 + (conv.Bias?.Length ?? 0);
        var (oh, ow) = conv.OutputSize(h, w);
        return p1 * h * w + p2 * oh * w + (p3 + p4) * oh * ow;
    }

    /// <summary>Factor [n, R] transposed to [R, n], column r scaled by scale[r].</summary>
    private static double[] Columns(double[] f, int n, int r, double[] scale)
    {
        var o = new double[r * n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < r; k++) o[k * n + i] = f[i * r + k] * scale[k];
        return o;
    }

    /// <summary>Factor [n, R] with column r scaled by scale[r].</summary>
    private static double[] Rows(double[] f, int n, int r, double[] scale)
    {
        var o = new double[n * r];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < r; k++) o[i * r + k] = f[i * r + k] * scale[k];
        return o;
    }
}

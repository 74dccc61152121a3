namespace DeepShrink.Compression.LowRank;

/// <summary>
/// Spatially separable factorisation of a convolution (Jaderberg et al. 2014, scheme 2): kh x 1 conv
/// C -&gt; K (vertical stride, padding, dilation) then 1 x kw conv K -&gt; O (horizontal ones, with the bias).
/// Grouped convolutions are decomposed per group (K filters per group).
/// </summary>
/// <remarks>
/// Jaderberg, Vedaldi, Zisserman 2014, "Speeding up convolutional neural networks with low rank
/// expansions", scheme 2: W[o, c, y, x] ~ sum_k V[k, c, y] H[o, k, x]. The optimal filters in the
/// Frobenius norm come from the truncated SVD of the kernel reshaped to [(c, y), (o, x)] = [C_g kh, O_g kw]:
/// V[k, c, y] = sqrt(s_k) u_k[(c, y)], H[o, k, x] = sqrt(s_k) v_k[(o, x)] (the data-free variant of their
/// closed-form solution). Exact at K = min(C_g kh, O_g kw).
/// Per group the cost is K C_g kh OH W + O_g K kw OH OW MACs.
/// </remarks>
public static class SpatialSvd
{
    /// <summary>Factorises with K intermediate channels per group.</summary>
    public static Factorization Decompose(FactorLayer conv, int rank)
    {
        ConvParts.Check(conv, "spatial-svd");
        var (og, cg, kh, kw, g) = Tucker2.Dims(conv);
        int max = MaxRank(conv);
        if (rank < 1 || rank > max) throw new ArgumentException($"spatial-svd: rank {rank} must be within 1..{max} (min(C_g kh, O_g kw))");
        var vert = new List<double[]>(); var horiz = new List<double[]>(); var approx = new List<double[]>();
        for (int gi = 0; gi < g; gi++)
        {
            var svd = Svd.Truncated(Reshape(ConvParts.Group(conv, gi), og, cg, kh, kw), cg * kh, og * kw, rank);
            var v = new double[rank * cg * kh];  // [K, C_g, kh, 1]
            var h = new double[og * rank * kw];  // [O_g, K, 1, kw]
            for (int k = 0; k < rank; k++)
            {
                double sq = Math.Sqrt(svd.S[k]);
                for (int cy = 0; cy < cg * kh; cy++) v[k * cg * kh + cy] = sq * svd.U[cy * rank + k];
                for (int o = 0; o < og; o++)
                    for (int x = 0; x < kw; x++) h[(o * rank + k) * kw + x] = sq * svd.Vt[k * og * kw + o * kw + x];
            }
            vert.Add(v); horiz.Add(h);
            approx.Add(Unshape(svd.Reconstruct(), og, cg, kh, kw));
        }
        var layers = new[]
        {
            ConvParts.Conv(ConvParts.Concat(vert), g * rank, cg, kh, 1, g, null, (conv.Stride.H, 1), (conv.Padding.H, 0), (conv.Dilation.H, 1)),
            ConvParts.Conv(ConvParts.Concat(horiz), conv.OutChannels, rank, 1, kw, g, conv.Bias, (1, conv.Stride.W), (0, conv.Padding.W), (1, conv.Dilation.W)),
        };
        var (a, err) = ConvParts.Approximation(conv, approx);
        return new Factorization("spatial-svd", conv, layers, new[] { rank }, a, err);
    }

    /// <summary>Largest useful K: min(C_g kh, O_g kw).</summary>
    public static int MaxRank(FactorLayer conv)
    {
        var (og, cg, kh, kw, _) = Tucker2.Dims(conv);
        return Math.Min(cg * kh, og * kw);
    }

    /// <summary>Singular values of the reshaped kernel of group 0 (largest first), for energy-based choices.</summary>
    public static double[] Spectrum(FactorLayer conv, int group = 0)
    {
        ConvParts.Check(conv, "spatial-svd");
        var (og, cg, kh, kw, _) = Tucker2.Dims(conv);
        return Svd.Values(Reshape(ConvParts.Group(conv, group), og, cg, kh, kw), cg * kh, og * kw);
    }

    /// <summary>Parameters or MACs (for input spatial size (h, w)) of the two-layer sequence.</summary>
    public static long Cost(FactorLayer conv, int rank, CostKind kind, int h = 1, int w = 1)
    {
        var (og, cg, kh, kw, g) = Tucker2.Dims(conv);
        long p1 = (long)g * rank * cg * kh, p2 = (long)g * og * rank * kw;
        if (kind == CostKind.Parameters) return p1 + p2 + (conv.Bias?.Length ?? 0);
        var (oh, ow) = conv.OutputSize(h, w);
        return p1 * oh * w + p2 * oh * ow; // the vertical pass keeps the full width
    }

    /// <summary>W [O, C, kh, kw] to M [(c, y), (o, x)].</summary>
    private static double[] Reshape(double[] w, int o, int c, int kh, int kw)
    {
        var m = new double[w.Length];
        for (int oi = 0; oi < o; oi++)
            for (int ci = 0; ci < c; ci++)
                for (int y = 0; y < kh; y++)
                    for (int x = 0; x < kw; x++) m[(ci * kh + y) * (o * kw) + oi * kw + x] = w[((oi * c + ci) * kh + y) * kw + x];
        return m;
    }

    /// <summary>Inverse of <see cref="Reshape"/>.</summary>
    private static double[] Unshape(double[] m, int o, int c, int kh, int kw)
    {
        var w = new double[m.Length];
        for (int oi = 0; oi < o; oi++)
            for (int ci = 0; ci < c; ci++)
                for (int y = 0; y < kh; y++)
                    for (int x = 0; x < kw; x++) w[((oi * c + ci) * kh + y) * kw + x] = m[(ci * kh + y) * (o * kw) + oi * kw + x];
        return w;
    }
}

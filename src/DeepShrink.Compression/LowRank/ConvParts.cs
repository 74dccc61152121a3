namespace DeepShrink.Compression.LowRank;

/// <summary>Shared pieces of the convolution decompositions: per-group weights, unfoldings, assembly.</summary>
internal static class ConvParts
{
    /// <summary>Checks that <paramref name="layer"/> is a valid convolution for <paramref name="method"/>.</summary>
    public static void Check(FactorLayer layer, string method)
    {
        layer.Validated();
        if (layer.IsLinear) throw new ArgumentException($"{method}: expected a conv2d layer, got linear (use LinearSvd)");
    }

    /// <summary>The weights of group <paramref name="g"/> in float64: [O/groups, C/groups, kh, kw].</summary>
    public static double[] Group(FactorLayer conv, int g)
    {
        int per = conv.Weight.Length / conv.Groups;
        return Svd.ToDouble(conv.Weight.AsSpan(g * per, per));
    }

    /// <summary>
    /// Gram matrix X X^T of the mode-<paramref name="mode"/> unfolding X [dims[mode], prod(other dims)]
    /// of a row-major tensor.
    /// </summary>
    public static double[] UnfoldingGram(double[] t, int[] dims, int mode) => DoubleGemm.OuterGram(Unfold(t, dims, mode), dims[mode], t.Length / dims[mode]);

    /// <summary>Mode-n unfolding: row i holds every element whose mode-n index is i (other modes in order).</summary>
    public static double[] Unfold(double[] t, int[] dims, int mode)
    {
        int before = 1, after = 1;
        for (int d = 0; d < mode; d++) before *= dims[d];
        for (int d = mode + 1; d < dims.Length; d++) after *= dims[d];
        int n = dims[mode];
        var x = new double[t.Length];
        for (int b = 0; b < before; b++)
            for (int i = 0; i < n; i++)
                Array.Copy(t, (b * n + i) * after, x, i * before * after + b * after, after);
        return x;
    }

    /// <summary>Singular values of the mode-n unfolding (largest first), from its Gram matrix.</summary>
    public static double[] UnfoldingSpectrum(double[] t, int[] dims, int mode)
        => SymmetricEigen.Decompose(UnfoldingGram(t, dims, mode), dims[mode]).Values.Select(v => Math.Sqrt(Math.Max(v, 0))).ToArray();

    /// <summary>Concatenates per-group float64 blocks (each already in the layout of one group's slice) into float32.</summary>
    public static float[] Concat(IReadOnlyList<double[]> blocks)
    {
        var w = new float[blocks.Sum(b => b.Length)];
        int at = 0;
        foreach (var b in blocks)
            for (int i = 0; i < b.Length; i++) w[at++] = (float)b[i];
        return w;
    }

    /// <summary>A convolution layer with no padding, stride or dilation unless given.</summary>
    public static FactorLayer Conv(float[] w, int o, int cPerGroup, int kh, int kw, int groups, float[]? bias = null,
        (int, int)? stride = null, (int, int)? padding = null, (int, int)? dilation = null)
        => FactorLayer.Conv(w, new[] { o, cPerGroup, kh, kw }, bias, stride, padding, dilation, groups);

    /// <summary>Relative error and float32 approximation from per-group float64 reconstructions.</summary>
    public static (float[] Approx, double Error) Approximation(FactorLayer conv, IReadOnlyList<double[]> groups)
    {
        var approx = Concat(groups);
        return (approx, Factorization.RelativeErrorOf(conv.Weight, approx));
    }
}

namespace DeepShrink.Compression.LowRank;

/// <summary>A Tucker-2 decomposition T ~ G x_1 U_out x_2 U_in of a 3-way tensor T [O, C, S].</summary>
/// <param name="Core">Core tensor G. [outRank, inRank, S]</param>
/// <param name="OutFactorT">U_out transposed (orthonormal rows). [outRank, O]</param>
/// <param name="InFactorT">U_in transposed (orthonormal rows). [inRank, C]</param>
/// <param name="O">Size of mode 1 (output channels).</param>
/// <param name="C">Size of mode 2 (input channels).</param>
/// <param name="S">Size of mode 3 (kernel window kh kw), kept whole.</param>
/// <param name="OutRank">R_out.</param>
/// <param name="InRank">R_in.</param>
/// <param name="ErrorHistory">Relative error ||T - approx||_F / ||T||_F after HOSVD (index 0) and after each HOOI sweep.</param>
public sealed record TuckerResult(double[] Core, double[] OutFactorT, double[] InFactorT, int O, int C, int S,
    int OutRank, int InRank, double[] ErrorHistory)
{
    /// <summary>G x_1 U_out x_2 U_in as a row-major [O, C, S] array.</summary>
    public double[] Reconstruct()
    {
        // X[ro, c, s] = sum_ri U_in[c, ri] G[ro, ri, s]; W = U_out [O, Ro] X [Ro, C S].
        var uin = DoubleGemm.Transpose(InFactorT, InRank, C);
        var x = new double[OutRank * C * S];
        for (int ro = 0; ro < OutRank; ro++)
            DoubleGemm.Multiply(uin, Core.AsSpan(ro * InRank * S, InRank * S), x.AsSpan(ro * C * S, C * S), C, InRank, S);
        var w = new double[O * C * S];
        DoubleGemm.Multiply(DoubleGemm.Transpose(OutFactorT, OutRank, O), x, w, O, OutRank, C * S);
        return w;
    }
}

/// <summary>
/// Higher-order orthogonal iteration for a Tucker-2 decomposition of the first two modes of a 3-way
/// tensor (the third mode, the kernel window of a convolution, is kept whole).
/// </summary>
/// <remarks>
/// De Lathauwer, De Moor and Vandewalle 2000, "On the best rank-(R1, R2, R3) approximation of
/// higher-order tensors": HOSVD start (U_n = leading left singular vectors of the mode-n unfolding), then
/// alternately U_out = leading R_out left singular vectors of (T x_2 U_in^T)_(1) and U_in = leading R_in
/// of (T x_1 U_out^T)_(2); core G = T x_1 U_out^T x_2 U_in^T. With orthonormal factors
/// ||T - approx||^2 = ||T||^2 - ||G||^2 and each update maximises ||G|| over one factor, so the error
/// never increases. Leading singular vectors come from <see cref="SymmetricEigen"/> of the unfolding's
/// Gram matrix (at most O x O and C x C).
/// </remarks>
public static class Hooi
{
    /// <summary>Decomposes T [o, c, s] at ranks (outRank, inRank); stops when a sweep lowers the squared
    /// relative error by less than <paramref name="tolerance"/> or after <paramref name="maxIterations"/> sweeps.</summary>
    public static TuckerResult Decompose(double[] t, int o, int c, int s, int outRank, int inRank,
        int maxIterations = 50, double tolerance = 1e-10)
    {
        if (t.Length != (long)o * c * s) throw new ArgumentException($"tucker2: {t.Length} values is not [{o}, {c}, {s}]");
        if (outRank < 1 || outRank > o || inRank < 1 || inRank > c)
            throw new ArgumentException($"tucker2: ranks ({outRank}, {inRank}) must be within 1..{o} and 1..{c}");
        var dims = new[] { o, c, s };
        double norm2 = t.Sum(x => x * x);
        var uoutT = Leading(ConvParts.UnfoldingGram(t, dims, 0), o, outRank);
        var uinT = Leading(ConvParts.UnfoldingGram(t, dims, 1), c, inRank);
        var history = new List<double>();
        var core = Core(t, o, c, s, uoutT, outRank, uinT, inRank);
        history.Add(RelError(norm2, core));
        for (int it = 0; it < maxIterations; it++)
        {
            // T x_2 U_in^T: Z[o, ri, s] = U_in^T [ri, c] T_o [c, s]
            var z = new double[o * inRank * s];
            for (int i = 0; i < o; i++)
                DoubleGemm.Multiply(uinT, t.AsSpan(i * c * s, c * s), z.AsSpan(i * inRank * s, inRank * s), inRank, c, s);
            uoutT = Leading(DoubleGemm.OuterGram(z, o, inRank * s), o, outRank);
            // T x_1 U_out^T: Y[ro, c, s], then its mode-2 unfolding [c, ro s]
            var y = new double[outRank * c * s];
            DoubleGemm.Multiply(uoutT, t, y, outRank, o, c * s);
            uinT = Leading(ConvParts.UnfoldingGram(y, new[] { outRank, c, s }, 1), c, inRank);
            core = CoreFromY(y, outRank, c, s, uinT, inRank);
            double err = RelError(norm2, core);
            double prev = history[^1];
            history.Add(err);
            if (prev * prev - err * err <= tolerance) break;
        }
        return new TuckerResult(core, uoutT, uinT, o, c, s, outRank, inRank, history.ToArray());
    }

    /// <summary>Leading <paramref name="rank"/> eigenvectors (as rows) of a symmetric [n, n] Gram matrix.</summary>
    internal static double[] Leading(double[] gram, int n, int rank) => SymmetricEigen.Decompose(gram, n).Vectors[..(rank * n)];

    private static double[] Core(double[] t, int o, int c, int s, double[] uoutT, int ro, double[] uinT, int ri)
    {
        var y = new double[ro * c * s];
        DoubleGemm.Multiply(uoutT, t, y, ro, o, c * s);
        return CoreFromY(y, ro, c, s, uinT, ri);
    }

    private static double[] CoreFromY(double[] y, int ro, int c, int s, double[] uinT, int ri)
    {
        var g = new double[ro * ri * s];
        for (int r = 0; r < ro; r++)
            DoubleGemm.Multiply(uinT, y.AsSpan(r * c * s, c * s), g.AsSpan(r * ri * s, ri * s), ri, c, s);
        return g;
    }

    private static double RelError(double norm2, double[] core)
    {
        if (norm2 == 0) return 0;
        double g2 = core.Sum(x => x * x);
        return Math.Sqrt(Math.Max(norm2 - g2, 0) / norm2);
    }
}

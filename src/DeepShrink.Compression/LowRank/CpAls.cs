namespace DeepShrink.Compression.LowRank;

/// <summary>A rank-R CP decomposition T[a, b, y, x] ~ sum_r Weights[r] A[a, r] B[b, r] Ky[y, r] Kx[x, r].</summary>
/// <param name="Weights">Component weights lambda (factor columns have unit norm). [R]</param>
/// <param name="Factors">Factor matrices A [I0, R], B [I1, R], Ky [I2, R], Kx [I3, R], row-major.</param>
/// <param name="Dims">Tensor dimensions [I0, I1, I2, I3].</param>
/// <param name="Rank">R.</param>
/// <param name="ErrorHistory">Relative error ||T - approx||_F / ||T||_F after each ALS sweep.</param>
public sealed record CpResult(double[] Weights, double[][] Factors, int[] Dims, int Rank, double[] ErrorHistory)
{
    /// <summary>The full [I0, I1, I2, I3] tensor of the decomposition.</summary>
    public double[] Reconstruct()
    {
        int r = Rank, i2 = Dims[2], i3 = Dims[3];
        var ab = KhatriRao(Factors[0], Dims[0], Factors[1], Dims[1], r, Weights);
        var yx = KhatriRao(Factors[2], i2, Factors[3], i3, r, null);
        var t = new double[Dims[0] * Dims[1] * i2 * i3];
        DoubleGemm.Multiply(ab, DoubleGemm.Transpose(yx, i2 * i3, r), t, Dims[0] * Dims[1], r, i2 * i3);
        return t;
    }

    /// <summary>Rows (i, j) of [P, R] (x) [Q, R] column-wise products: out[(i, j), r] = p[i, r] q[j, r] w[r]. [P Q, R]</summary>
    internal static double[] KhatriRao(double[] p, int pn, double[] q, int qn, int r, double[]? w)
    {
        var o = new double[pn * qn * r];
        for (int i = 0; i < pn; i++)
            for (int j = 0; j < qn; j++)
                for (int k = 0; k < r; k++) o[(i * qn + j) * r + k] = p[i * r + k] * q[j * r + k] * (w?[k] ?? 1);
        return o;
    }
}

/// <summary>
/// CP (CANDECOMP/PARAFAC) decomposition of a 4-way tensor by alternating least squares, with an SVD
/// start, unit-norm factor columns and a ridge term against degenerate (diverging) components.
/// </summary>
/// <remarks>
/// Kolda and Bader 2009, "Tensor decompositions and applications", section 3.4: each factor is the
/// least-squares solution F_n = T_(n) (Khatri-Rao of the others) (V + rho I)^-1 with V the Hadamard
/// product of the other factors' Gram matrices; rho (default 1e-9, relative to unit-norm columns) is the
/// Tikhonov term of Navasca, De Lathauwer and Kindermann 2008. The start is the leading R left singular
/// vectors of each unfolding (seeded Gaussian columns where R exceeds the mode size), as in TensorLy's
/// "svd" initialisation. The products T_(n)(...) use two contractions: T1 = T [I0 I1, I2 I3] (Ky (.) Kx)
/// for the two channel factors, T2 = T^T (A (.) B) for the two spatial factors. The error is evaluated in
/// closed form from the last MTTKRP and the Gram matrices (no reconstruction per sweep).
/// </remarks>
public static class CpAls
{
    /// <summary>Decomposes T [dims] (4-way, row-major) at rank R.</summary>
    public static CpResult Decompose(double[] t, int[] dims, int rank, int maxIterations = 500,
        double tolerance = 1e-9, double ridge = 1e-9, ulong seed = 7)
    {
        if (dims.Length != 4 || dims.Any(d => d < 1) || t.Length != dims.Aggregate(1L, (p, d) => p * d))
            throw new ArgumentException($"cp: {t.Length} values is not a 4-way tensor [{string.Join(", ", dims)}]");
        if (rank < 1) throw new ArgumentException($"cp: rank {rank} must be at least 1");
        if (ridge < 0) throw new ArgumentException($"cp: ridge {ridge} must be non-negative");
        int r = rank, i0 = dims[0], i1 = dims[1], s = dims[2] * dims[3];
        double norm2 = t.Sum(x => x * x);
        var f = new double[4][];
        var rng = new DeepShrink.Core.Rng(seed);
        for (int n = 0; n < 4; n++) f[n] = Initial(t, dims, n, r, rng);
        var grams = f.Select((x, n) => Gram(x, dims[n], r)).ToArray();
        var tt = DoubleGemm.Transpose(t, i0 * i1, s); // [I2 I3, I0 I1]
        var lambda = new double[r];
        var history = new List<double>();
        for (int it = 0; it < maxIterations; it++)
        {
            var t1 = new double[i0 * i1 * r];
            DoubleGemm.Multiply(t, CpResult.KhatriRao(f[2], dims[2], f[3], dims[3], r, null), t1, i0 * i1, s, r);
            Update(f, grams, 0, Contract(t1, f[1], i0, i1, r, outer: true), dims, r, ridge, lambda);
            Update(f, grams, 1, Contract(t1, f[0], i0, i1, r, outer: false), dims, r, ridge, lambda);
            var t2 = new double[s * r];
            DoubleGemm.Multiply(tt, CpResult.KhatriRao(f[0], i0, f[1], i1, r, null), t2, s, i0 * i1, r);
            Update(f, grams, 2, Contract(t2, f[3], dims[2], dims[3], r, outer: true), dims, r, ridge, lambda);
            var m3 = Contract(t2, f[2], dims[2], dims[3], r, outer: false);
            Update(f, grams, 3, m3, dims, r, ridge, lambda, normalise: false);
            // <T, approx> = sum M3 .* F3; ||approx||^2 = sum of the Hadamard of all four Grams.
            double inner = 0;
            for (int i = 0; i < m3.Length; i++) inner += m3[i] * f[3][i];
            double model = 0;
            for (int i = 0; i < r * r; i++) model += grams[0][i] * grams[1][i] * grams[2][i] * grams[3][i];
            double err = norm2 == 0 ? 0 : Math.Sqrt(Math.Max(norm2 - 2 * inner + model, 0) / norm2);
            Normalise(f[3], dims[3], r, lambda);
            grams[3] = Gram(f[3], dims[3], r);
            history.Add(err);
            if (history.Count > 1 && Math.Abs(history[^2] - err) < tolerance) break;
        }
        return new CpResult(lambda, f, (int[])dims.Clone(), r, history.ToArray());
    }

    /// <summary>MTTKRP from a partial contraction c [P, Q, R]: outer (index p) sums over q with g [Q, R]; else index q sums over p with g [P, R].</summary>
    private static double[] Contract(double[] c, double[] g, int p, int q, int r, bool outer)
    {
        var m = new double[(outer ? p : q) * r];
        for (int i = 0; i < p; i++)
            for (int j = 0; j < q; j++)
            {
                int at = (i * q + j) * r, mo = (outer ? i : j) * r, go = (outer ? j : i) * r;
                for (int k = 0; k < r; k++) m[mo + k] += c[at + k] * g[go + k];
            }
        return m;
    }

    private static void Update(double[][] f, double[][] grams, int n, double[] mttkrp, int[] dims, int r, double ridge, double[] lambda, bool normalise = true)
    {
        var v = new double[r * r];
        Array.Fill(v, 1.0);
        for (int other = 0; other < 4; other++)
            if (other != n)
                for (int i = 0; i < r * r; i++) v[i] *= grams[other][i];
        f[n] = Cholesky.SolveRight(mttkrp, dims[n], v, r, ridge);
        if (normalise) Normalise(f[n], dims[n], r, lambda);
        grams[n] = Gram(f[n], dims[n], r);
    }

    private static void Normalise(double[] f, int rows, int r, double[] lambda)
    {
        for (int k = 0; k < r; k++)
        {
            double ss = 0;
            for (int i = 0; i < rows; i++) ss += f[i * r + k] * f[i * r + k];
            double norm = Math.Sqrt(ss);
            lambda[k] = norm;
            if (norm == 0) continue;
            for (int i = 0; i < rows; i++) f[i * r + k] /= norm;
        }
    }

    private static double[] Gram(double[] f, int rows, int r) => DoubleGemm.Gram(f, rows, r);

    private static double[] Initial(double[] t, int[] dims, int n, int r, DeepShrink.Core.Rng rng)
    {
        int size = dims[n];
        var vectors = Hooi.Leading(ConvParts.UnfoldingGram(t, dims, n), size, Math.Min(r, size)); // [min(r, size), size]
        var f = new double[size * r];
        for (int k = 0; k < r; k++)
            for (int i = 0; i < size; i++)
                f[i * r + k] = k < size ? vectors[k * size + i] : rng.NextGaussian() / Math.Sqrt(size);
        return f;
    }
}

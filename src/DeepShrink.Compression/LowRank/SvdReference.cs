namespace DeepShrink.Compression.LowRank;

/// <summary>
/// One-sided Jacobi SVD (Hestenes): the slow, plain specification that <see cref="Svd"/> is tested against.
/// </summary>
/// <remarks>
/// Hestenes (1958); Demmel and Veselic (1992). Columns i, j of a working copy of A [m, n] (m &gt;= n)
/// are rotated until orthogonal: with alpha = |a_i|^2, beta = |a_j|^2, gamma = a_i . a_j,
/// zeta = (beta - alpha) / (2 gamma), t = sign(zeta) / (|zeta| + sqrt(1 + zeta^2)), c = 1 / sqrt(1 + t^2),
/// s = c t; the same rotations accumulate into V. Sweeps stop when every |gamma| &lt;= 1e-15 sqrt(alpha beta).
/// Then s_i = |a_i| and u_i = a_i / s_i. Cost about 6 m n^2 flops per sweep; meant for small matrices.
/// </remarks>
public static class SvdReference
{
    /// <summary>Singular values (largest first) of a row-major float64 [m, n] matrix.</summary>
    public static double[] Values(ReadOnlySpan<double> a, int m, int n)
    {
        if (a.Length != (long)m * n || m < 1 || n < 1) throw new ArgumentException($"svd-reference: {a.Length} values is not a {m}x{n} matrix");
        if (m < n) return Values(DoubleGemm.Transpose(a, m, n), n, m);
        // Columns as rows of the transposed copy.
        var cols = DoubleGemm.Transpose(a, m, n);
        for (int sweep = 0; sweep < 100; sweep++)
        {
            bool rotated = false;
            for (int i = 0; i < n - 1; i++)
                for (int j = i + 1; j < n; j++)
                {
                    var ci = cols.AsSpan(i * m, m);
                    var cj = cols.AsSpan(j * m, m);
                    double alpha = 0, beta = 0, gamma = 0;
                    for (int p = 0; p < m; p++) { alpha += ci[p] * ci[p]; beta += cj[p] * cj[p]; gamma += ci[p] * cj[p]; }
                    if (Math.Abs(gamma) <= 1e-15 * Math.Sqrt(alpha * beta) || gamma == 0) continue;
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.Sign(zeta == 0 ? 1 : zeta) / (Math.Abs(zeta) + Math.Sqrt(1 + zeta * zeta));
                    double c = 1 / Math.Sqrt(1 + t * t), s = c * t;
                    for (int p = 0; p < m; p++)
                    {
                        double x = ci[p], y = cj[p];
                        ci[p] = c * x - s * y;
                        cj[p] = s * x + c * y;
                    }
                }
            if (!rotated) break;
        }
        var values = new double[n];
        for (int i = 0; i < n; i++)
        {
            double ss = 0;
            foreach (var x in cols.AsSpan(i * m, m)) ss += x * x;
            values[i] = Math.Sqrt(ss);
        }
        Array.Sort(values, (x, y) => y.CompareTo(x));
        return values;
    }
}

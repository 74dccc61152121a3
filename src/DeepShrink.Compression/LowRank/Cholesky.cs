namespace DeepShrink.Compression.LowRank;

/// <summary>Small dense symmetric positive definite solves (the ALS normal equations).</summary>
internal static class Cholesky
{
    /// <summary>
    /// X = M (V + rho I)^-1 for M [rows, r] and symmetric V [r, r]: Cholesky V + rho I = L L^T, then a forward and
    /// a back substitution per row of M. rho grows tenfold (from <paramref name="ridge"/> times the mean diagonal,
    /// at least 1e-15 of it) until the factorisation succeeds.
    /// </summary>
    public static double[] SolveRight(double[] m, int rows, double[] v, int r, double ridge)
    {
        double diag = 0;
        for (int i = 0; i < r; i++) diag += v[i * r + i];
        diag = Math.Max(diag / r, 1e-300);
        double rho = Math.Max(ridge, 0) * diag;
        for (int attempt = 0; attempt < 40; attempt++)
        {
            var l = Factor(v, r, rho);
            if (l is not null) return Solve(m, rows, l, r);
            rho = rho == 0 ? 1e-15 * diag : rho * 10;
        }
        throw new InvalidOperationException("cp: normal equations are not positive definite even with a large ridge");
    }

    private static double[]? Factor(double[] v, int r, double rho)
    {
        var l = new double[r * r];
        for (int j = 0; j < r; j++)
        {
            double d = v[j * r + j] + rho;
            for (int k = 0; k < j; k++) d -= l[j * r + k] * l[j * r + k];
            if (!(d > 0)) return null;
            double ljj = Math.Sqrt(d);
            l[j * r + j] = ljj;
            for (int i = j + 1; i < r; i++)
            {
                double x = v[i * r + j];
                for (int k = 0; k < j; k++) x -= l[i * r + k] * l[j * r + k];
                l[i * r + j] = x / ljj;
            }
        }
        return l;
    }

    private static double[] Solve(double[] m, int rows, double[] l, int r)
    {
        var x = new double[rows * r];
        var y = new double[r];
        for (int row = 0; row < rows; row++)
        {
            // (L L^T) x = m_row: L y = m, L^T x = y.
            for (int i = 0; i < r; i++)
            {
                double s = m[row * r + i];
                for (int k = 0; k < i; k++) s -= l[i * r + k] * y[k];
                y[i] = s / l[i * r + i];
            }
            for (int i = r - 1; i >= 0; i--)
            {
                double s = y[i];
                for (int k = i + 1; k < r; k++) s -= l[k * r + i] * x[row * r + k];
                x[row * r + i] = s / l[i * r + i];
            }
        }
        return x;
    }
}

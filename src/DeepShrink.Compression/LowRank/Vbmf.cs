namespace DeepShrink.Compression.LowRank;

/// <summary>Result of analytic empirical VBMF.</summary>
/// <param name="Rank">Number of singular values above the VB threshold.</param>
/// <param name="NoiseVariance">Estimated noise variance sigma^2 (per matrix entry).</param>
/// <param name="Threshold">Singular values above this are kept.</param>
public sealed record VbmfResult(int Rank, double NoiseVariance, double Threshold);

/// <summary>
/// Rank estimation by the global analytic solution of empirical variational Bayesian matrix
/// factorisation (Nakajima, Sugiyama, Babacan, Tomioka 2013, JMLR 14), as used by Kim et al. 2016 to pick
/// Tucker ranks.
/// </summary>
/// <remarks>
/// For Y [L, M] (L &lt;= M, alpha = L / M) with singular values gamma_h and noise variance sigma^2, EVB keeps
/// component h iff gamma_h &gt; gamma_EVB = sigma sqrt(M (1 + tau)(1 + alpha / tau)) with tau = 2.5129 sqrt(alpha)
/// (Theorem 13 / Corollary 15). sigma^2 is the minimiser of the free energy (their eq. 31-32) written
/// with x_h = gamma_h^2 / (M sigma^2): sum over x_h &lt;= x_bar of (x_h - ln x_h) plus, over x_h &gt; x_bar, of
/// (x_h - tau(x_h)) + ln((tau(x_h) + 1) / x_h) + alpha ln(tau(x_h) / alpha + 1), plus residual / (M sigma^2)
/// + (L - H) ln sigma^2, where tau(x) = (x - (1 + alpha) + sqrt((x - (1 + alpha))^2 - 4 alpha)) / 2 and
/// x_bar = (1 + tau)(1 + alpha / tau). The minimiser is searched on their bracket
/// [max(gamma_{h*+1}^2 / (M x_bar), mean_{h&gt;h*} gamma_h^2 / M), sum gamma^2 / (L M)], h* = ceil(L / (1 + alpha)) - 1,
/// by a log-spaced grid then golden section.
/// </remarks>
public static class Vbmf
{
    private const double TauConstant = 2.5129;

    /// <summary>Estimates the rank of a row-major [rows, cols] matrix.</summary>
    public static VbmfResult EstimateMatrix(double[] matrix, int rows, int cols) => Estimate(Svd.Values(matrix, rows, cols), rows, cols);

    /// <summary>
    /// Estimates the rank from singular values (largest first) of a [rows, cols] matrix; <paramref name="residual"/>
    /// is ||Y||_F^2 minus the sum of the given squared singular values when only the leading ones are passed.
    /// </summary>
    public static VbmfResult Estimate(ReadOnlySpan<double> singularValues, int rows, int cols, double residual = 0)
    {
        int l = Math.Min(rows, cols), m = Math.Max(rows, cols);
        var s = singularValues[..Math.Min(singularValues.Length, l)].ToArray();
        int h = s.Length;
        if (h == 0) throw new ArgumentException("vbmf: no singular values");
        for (int i = 1; i < h; i++)
            if (s[i] > s[i - 1] || s[i] < 0) throw new ArgumentException("vbmf: singular values must be non-negative and sorted largest first");
        double total = s.Sum(x => x * x) + residual;
        if (total <= 0) return new VbmfResult(0, 0, 0);
        double alpha = (double)l / m, tau = TauConstant * Math.Sqrt(alpha);
        double xBar = (1 + tau) * (1 + alpha / tau);
        int hStar = Math.Min((int)Math.Ceiling(l / (1 + alpha)) - 1, h) - 1;
        hStar = Math.Clamp(hStar, 0, h - 1);
        double upper = total / ((double)l * m);
        double lower = upper * 1e-12;
        if (hStar + 1 < h)
        {
            double tailMean = 0;
            for (int i = hStar + 1; i < h; i++) tailMean += s[i] * s[i];
            tailMean /= h - hStar - 1;
            lower = Math.Max(lower, Math.Max(s[hStar + 1] * s[hStar + 1] / (m * xBar), tailMean / m));
        }
        lower = Math.Min(lower, upper);
        double sigma2 = Minimise(v => FreeEnergy(v, s, l, m, residual, alpha, xBar), lower, upper);
        double threshold = Math.Sqrt(m * sigma2 * xBar);
        int rank = s.Count(x => x > threshold);
        return new VbmfResult(rank, sigma2, threshold);
    }

    private static double FreeEnergy(double sigma2, double[] s, int l, int m, double residual, double alpha, double xBar)
    {
        double f = residual / (m * sigma2) + (l - s.Length) * Math.Log(sigma2);
        foreach (var g in s)
        {
            double x = g * g / (m * sigma2);
            if (x <= xBar) { f += x - Math.Log(Math.Max(x, 1e-300)); continue; }
            double b = x - (1 + alpha);
            double t = 0.5 * (b + Math.Sqrt(Math.Max(b * b - 4 * alpha, 0)));
            f += x - t + Math.Log((t + 1) / x) + alpha * Math.Log(t / alpha + 1);
        }
        return f;
    }

    /// <summary>Minimises f on [lo, hi] (in log space): a 64-point grid, then golden section around the best point.</summary>
    private static double Minimise(Func<double, double> f, double lo, double hi)
    {
        if (hi <= lo) return hi;
        double a = Math.Log(lo), b = Math.Log(hi);
        const int grid = 64;
        int best = 0;
        double bestValue = double.PositiveInfinity;
        for (int i = 0; i <= grid; i++)
        {
            double v = f(Math.Exp(a + (b - a) * i / grid));
            if (v < bestValue) { bestValue = v; best = i; }
        }
        double left = a + (b - a) * Math.Max(best - 1, 0) / grid, right = a + (b - a) * Math.Min(best + 1, grid) / grid;
        double phi = (Math.Sqrt(5) - 1) / 2;
        double x1 = right - phi * (right - left), x2 = left + phi * (right - left);
        double f1 = f(Math.Exp(x1)), f2 = f(Math.Exp(x2));
        for (int it = 0; it < 100 && right - left > 1e-12; it++)
        {
            if (f1 < f2) { right = x2; x2 = x1; f2 = f1; x1 = right - phi * (right - left); f1 = f(Math.Exp(x1)); }
            else { left = x1; x1 = x2; f1 = f2; x2 = left + phi * (right - left); f2 = f(Math.Exp(x2)); }
        }
        double mid = 0.5 * (left + right);
        return f(Math.Exp(mid)) <= bestValue ? Math.Exp(mid) : Math.Exp(a + (b - a) * best / grid);
    }
}

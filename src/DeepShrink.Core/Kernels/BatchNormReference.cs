namespace DeepShrink.Core.Kernels;

/// <summary>
/// Scalar reference batch normalisation over x [N, C, S] in double precision: the specification
/// <see cref="BatchNormKernels"/> is tested against (formulas in its remarks).
/// </summary>
public static class BatchNormReference
{
    /// <summary>Per-channel mean and biased variance.</summary>
    public static void BatchStats(int n, int c, int s,
        ReadOnlySpan<float> x,   // [N, C, S]
        Span<float> mean,        // [C]
        Span<float> variance)    // [C]
    {
        BatchNormKernels.Check(n, c, s, x.Length);
        BatchNormKernels.CheckC(c, ("mean", mean.Length), ("variance", variance.Length));
        for (int ch = 0; ch < c; ch++)
        {
            double m = 0, v = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) m += x[(i * c + ch) * s + j];
            m /= (double)n * s;
            for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) { double d = x[(i * c + ch) * s + j] - m; v += d * d; }
            mean[ch] = (float)m; variance[ch] = (float)(v / ((double)n * s));
        }
    }

    /// <summary>y = (x - mean) / sqrt(var + eps) gamma + beta.</summary>
    public static void Normalize(int n, int c, int s,
        ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,     // [N, C, S], [C], [C]
        ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, float eps, Span<float> y) // [C], [C], [N, C, S]
    {
        BatchNormKernels.Check(n, c, s, x.Length, ("y", y.Length));
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                for (int j = 0; j < s; j++)
                {
                    int k = (i * c + ch) * s + j;
                    y[k] = (float)((x[k] - (double)mean[ch]) / Math.Sqrt(variance[ch] + (double)eps) * gamma[ch] + beta[ch]);
                }
    }

    /// <summary>Backward (see <see cref="BatchNormKernels.Backward"/>); all three gradients overwritten.</summary>
    public static void Backward(int n, int c, int s,
        ReadOnlySpan<float> x, ReadOnlySpan<float> dy,                  // [N, C, S] each
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, // [C] each
        float eps, bool batchStats,
        Span<float> dx, Span<float> dgamma, Span<float> dbeta)          // [N, C, S], [C], [C]
    {
        BatchNormKernels.Check(n, c, s, x.Length, ("dy", dy.Length), ("dx", dx.Length));
        double m = (double)n * s;
        for (int ch = 0; ch < c; ch++)
        {
            double invStd = 1.0 / Math.Sqrt(variance[ch] + (double)eps), sdy = 0, sdyx = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s; j++)
                {
                    int k = (i * c + ch) * s + j;
                    sdy += dy[k]; sdyx += dy[k] * (x[k] - (double)mean[ch]) * invStd;
                }
            dbeta[ch] = (float)sdy; dgamma[ch] = (float)sdyx;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s; j++)
                {
                    int k = (i * c + ch) * s + j;
                    double xhat = (x[k] - (double)mean[ch]) * invStd;
                    double g = batchStats ? dy[k] - sdy / m - xhat * sdyx / m : dy[k];
                    dx[k] = (float)(gamma[ch] * invStd * g);
                }
        }
    }
}

namespace DeepShrink.Core.Kernels;

/// <summary>
/// The specification of <see cref="FftPlan"/>: the direct O(n^2) discrete Fourier transform of a real
/// signal in float64, for any size n >= 1 (not only powers of two).
/// </summary>
/// <remarks>
/// X[k] = sum_t x[t] e^{-2 pi i k t / n} for k = 0..n/2 and x[t] = (1/n) sum_{k=0}^{n-1} X[k] e^{2 pi i k t / n}
/// with X[n-k] = conj X[k]. Angles are reduced as (k t mod n) / n before the cosine, so the result is
/// accurate to float64 rounding even for large n.
/// </remarks>
public static class FftReference
{
    /// <summary>Direct DFT: <paramref name="re"/>[k] + i <paramref name="im"/>[k] = X[k] for k = 0..n/2.</summary>
    public static void Forward(ReadOnlySpan<float> x, // [n]
        Span<double> re, Span<double> im)              // [n/2 + 1] each
    {
        int n = x.Length, bins = n / 2 + 1;
        if (n < 1 || re.Length != bins || im.Length != bins) throw new ArgumentException($"direct DFT of {n} samples needs {bins} bins, got {re.Length} and {im.Length}");
        for (int k = 0; k < bins; k++)
        {
            double sr = 0, si = 0;
            for (int t = 0; t < n; t++)
            {
                double a = -2.0 * Math.PI * ((long)k * t % n) / n;
                sr += x[t] * Math.Cos(a);
                si += x[t] * Math.Sin(a);
            }
            re[k] = sr; im[k] = si;
        }
    }

    /// <summary>Direct inverse DFT of the bins X[0..n/2] of a real signal (Hermitian symmetry supplies the rest).</summary>
    public static void Inverse(ReadOnlySpan<double> re, ReadOnlySpan<double> im, // [n/2 + 1] each
        Span<double> x)                                                           // [n]
    {
        int n = x.Length, bins = n / 2 + 1;
        if (n < 1 || re.Length != bins || im.Length != bins) throw new ArgumentException($"inverse DFT to {n} samples needs {bins} bins, got {re.Length} and {im.Length}");
        for (int t = 0; t < n; t++)
        {
            double s = 0;
            for (int k = 0; k < n; k++)
            {
                // X[k] for k > n/2 is conj X[n - k]; the imaginary part of the real sum is zero.
                double xr = k < bins ? re[k] : re[n - k];
                double xi = k < bins ? im[k] : -im[n - k];
                if (k == 0 || 2 * k == n) xi = 0; // bins 0 and n/2 of a real signal are real
                double a = 2.0 * Math.PI * ((long)k * t % n) / n;
                s += xr * Math.Cos(a) - xi * Math.Sin(a);
            }
            x[t] = s / n;
        }
    }
}

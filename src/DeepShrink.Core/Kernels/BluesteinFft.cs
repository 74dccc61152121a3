using System.Buffers;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// DFT of any size n through Bluestein's chirp z-transform on power-of-two FFTs, used by
/// <see cref="FftPlan"/> for sizes that are not powers of two. Immutable after construction.
/// </summary>
/// <remarks>
/// Bluestein 1970 ("A linear filtering approach to the computation of the discrete Fourier transform"):
/// with k t = (k^2 + t^2 - (k - t)^2) / 2 and the chirp w_t = e^{-pi i t^2 / n},
/// X[k] = w_k sum_t (x[t] w_t) conj(w_{k-t}), a linear convolution of
/// a = x w with b = conj(w), computed as a cyclic convolution of power-of-two size m >= 2n - 1 by three
/// FFTs (the spectrum of b is precomputed, scaled by 1/m). Chirp angles use t^2 mod 2n, exact in
/// integers, so large n lose no accuracy. Cost O(m log m), about 6-12x a power-of-two FFT of size n.
/// </remarks>
internal sealed class BluesteinFft
{
    private readonly int _n, _m;
    private readonly ComplexFft _fft;          // size m
    private readonly float[] _wRe, _wIm;       // [n]: chirp w_t
    private readonly float[] _bRe, _bIm;       // [m]: FFT(b) / m

    public BluesteinFft(int n)
    {
        _n = n;
        _m = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(2 * n - 1));
        _fft = new ComplexFft(_m);
        _wRe = new float[n]; _wIm = new float[n];
        for (int t = 0; t < n; t++)
        {
            double a = -Math.PI * ((long)t * t % (2L * n)) / n;
            _wRe[t] = (float)Math.Cos(a); _wIm[t] = (float)Math.Sin(a);
        }
        _bRe = new float[_m]; _bIm = new float[_m];
        var rev = _fft.BitReverse;
        for (int t = 0; t < n; t++)
        {
            // b_t = b_{m-t} = conj(w_t), loaded in bit-reversed order for the transform.
            _bRe[rev[t]] = _wRe[t]; _bIm[rev[t]] = -_wIm[t];
            if (t > 0) { _bRe[rev[_m - t]] = _wRe[t]; _bIm[rev[_m - t]] = -_wIm[t]; }
        }
        _fft.Transform(_bRe, _bIm);
        float inv = 1f / _m;
        for (int k = 0; k < _m; k++) { _bRe[k] *= inv; _bIm[k] *= inv; }
    }

    /// <summary>
    /// out[k] = sum_t in[t] e^{-2 pi i k t / n} for k &lt; outRe.Length (at most n); <paramref name="inIm"/>
    /// empty means a real input.
    /// </summary>
    public void Transform(ReadOnlySpan<float> inRe, ReadOnlySpan<float> inIm, // [n] each
        Span<float> outRe, Span<float> outIm)                                  // [count] each
    {
        int n = _n, m = _m;
        var rev = _fft.BitReverse;
        float[] work = ArrayPool<float>.Shared.Rent(2 * m);
        try
        {
            var ar = work.AsSpan(0, m); var ai = work.AsSpan(m, m);
            ar.Clear(); ai.Clear();
            for (int t = 0; t < n; t++)
            {
                float xr = inRe[t], xi = inIm.IsEmpty ? 0f : inIm[t];
                int r = rev[t];
                ar[r] = xr * _wRe[t] - xi * _wIm[t];
                ai[r] = xr * _wIm[t] + xi * _wRe[t];
            }
            _fft.Transform(ar, ai);
            // Multiply by FFT(b) / m and store in bit-reversed order for the inverse transform (pairs swap in place).
            for (int i = 0; i < m; i++)
            {
                int j = rev[i];
                if (j < i) continue;
                float pr = ar[i] * _bRe[i] - ai[i] * _bIm[i], pi = ar[i] * _bIm[i] + ai[i] * _bRe[i];
                if (j == i) { ar[i] = pr; ai[i] = pi; continue; }
                float qr = ar[j] * _bRe[j] - ai[j] * _bIm[j], qi = ar[j] * _bIm[j] + ai[j] * _bRe[j];
                ar[j] = pr; ai[j] = pi; ar[i] = qr; ai[i] = qi;
            }
            _fft.Transform(ai, ar); // inverse (unscaled; 1/m is in b)
            for (int k = 0; k < outRe.Length; k++)
            {
                float cr = ar[k], ci = ai[k];
                outRe[k] = cr * _wRe[k] - ci * _wIm[k];
                outIm[k] = cr * _wIm[k] + ci * _wRe[k];
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(work);
        }
    }

    /// <summary>Real forward: the split spectrum X[0..n/2] of <paramref name="x"/>.</summary>
    public void ForwardReal(ReadOnlySpan<float> x, Span<float> spectrum)
    {
        int bins = _n / 2 + 1;
        Transform(x, default, spectrum[..bins], spectrum.Slice(bins, bins));
    }

    /// <summary>
    /// Real inverse (scaled by 1/n) from the split spectrum X[0..n/2]; the imaginary parts of bin 0 (and of
    /// bin n/2 for even n) are ignored. x[t] = (1/n) Re sum_k conj(X[k]) e^{-2 pi i k t / n}.
    /// </summary>
    public void InverseReal(ReadOnlySpan<float> spectrum, Span<float> x)
    {
        int n = _n, bins = n / 2 + 1;
        float[] work = ArrayPool<float>.Shared.Rent(3 * n);
        try
        {
            var yr = work.AsSpan(0, n); var yi = work.AsSpan(n, n); var outIm = work.AsSpan(2 * n, n);
            for (int k = 0; k < n; k++)
            {
                // conj(X[k]), with X[k] = conj(X[n - k]) above n/2.
                bool upper = k >= bins;
                int src = upper ? n - k : k;
                yr[k] = spectrum[src];
                yi[k] = upper ? spectrum[bins + src] : -spectrum[bins + src];
            }
            yi[0] = 0f;
            if (n % 2 == 0) yi[n / 2] = 0f;
            Transform(yr, yi, x, outIm);
            float scale = 1f / n;
            for (int t = 0; t < n; t++) x[t] *= scale;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(work);
        }
    }
}

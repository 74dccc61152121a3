using System.Buffers;
using System.Collections.Concurrent;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Real-input fast Fourier transform of one size with its twiddle factors precomputed:
/// <see cref="Forward"/> maps n real samples to the n/2 + 1 non-redundant complex bins and
/// <see cref="Inverse"/> maps them back. A plan is immutable and safe to use from many threads at once;
/// <see cref="Get"/> returns the shared plan of a size.
/// </summary>
/// <remarks>
/// Definitions: X[k] = sum_{t=0}^{n-1} x[t] e^{-2 pi i k t / n} for k = 0..n/2 (the other bins are
/// conj(X[n-k])), and the inverse x[t] = (1/n) sum_{k=0}^{n-1} X[k] e^{+2 pi i k t / n}, so
/// Inverse(Forward(x)) = x up to rounding.
/// <para>
/// Algorithm: the n real samples are packed into h = n/2 complex values z[t] = x[2t] + i x[2t+1],
/// transformed by an iterative radix-2 decimation-in-time FFT of size h (Cooley and Tukey 1965), and
/// split into the real spectrum by X[k] = E[k] + W^k O[k] with E[k] = (Z[k] + conj Z[h-k]) / 2,
/// O[k] = -i (Z[k] - conj Z[h-k]) / 2 and W = e^{-2 pi i / n} (the standard "two-for-one" real FFT,
/// e.g. Press et al., Numerical Recipes, section 12.3). The inverse runs the same steps backwards.
/// Cost O(n log n); the butterflies of stages with 8 or more butterflies per group run on
/// Vector512 / Vector256 (see <see cref="CpuFeatures"/>). Sizes that are not powers of two go through
/// Bluestein's chirp z-transform on power-of-two FFTs (<see cref="BluesteinFft"/>; O(n log n) too, several
/// times slower than the next power of two). <see cref="FftReference"/> (a direct DFT in float64) is the
/// specification.
/// </para>
/// <para>
/// Spectrum layout ("split"): a span of <see cref="SpectrumFloats"/> = 2 (n/2 + 1) floats holding the
/// real parts of bins 0..n/2 (n/2 rounded down), then their imaginary parts; complex products then
/// vectorise directly.
/// </para>
/// </remarks>
public sealed class FftPlan
{
    /// <summary>Largest supported size: 2^26 samples for powers of two, <see cref="MaxBluesteinSize"/> for other sizes.</summary>
    public const int MaxSize = 1 << 26;

    /// <summary>Largest supported size that is not a power of two.</summary>
    public const int MaxBluesteinSize = 1 << 24;

    private static readonly ConcurrentDictionary<int, FftPlan> s_plans = new();

    private readonly ComplexFft? _complex;    // size n/2, for powers of two
    private readonly BluesteinFft? _bluestein; // other sizes
    private readonly float[] _wRe, _wIm;  // [n/2 + 1]: W^k = e^{-2 pi i k / n}

    /// <summary>Creates a plan for <paramref name="size"/> real samples (see <see cref="IsSupportedSize"/>).</summary>
    public FftPlan(int size)
    {
        Validate(size);
        Size = size;
        _wRe = []; _wIm = [];
        if (!IsPowerOfTwo(size)) { _bluestein = new BluesteinFft(size); return; }
        int h = Math.Max(1, size / 2);
        _complex = new ComplexFft(h);
        _wRe = new float[h + 1]; _wIm = new float[h + 1];
        for (int k = 0; k <= h; k++)
        {
            double a = -2.0 * Math.PI * k / size;
            _wRe[k] = (float)Math.Cos(a); _wIm[k] = (float)Math.Sin(a);
        }
    }

    /// <summary>The shared plan for <paramref name="size"/> (created once per size, thread-safe).</summary>
    public static FftPlan Get(int size)
    {
        Validate(size);
        return s_plans.GetOrAdd(size, static n => new FftPlan(n));
    }

    /// <summary>True when <paramref name="size"/> is a supported transform size: a power of two up to <see cref="MaxSize"/> or any other size from 1 to <see cref="MaxBluesteinSize"/>.</summary>
    public static bool IsSupportedSize(int size) => size >= 1 && (IsPowerOfTwo(size) ? size <= MaxSize : size <= MaxBluesteinSize);

    /// <summary>True for 1, 2, 4, 8, ...: the sizes that run on the radix-2 FFT directly.</summary>
    public static bool IsPowerOfTwo(int size) => size >= 1 && (size & (size - 1)) == 0;

    /// <summary>Throws a one-line <see cref="ArgumentException"/> when <paramref name="size"/> is not supported.</summary>
    public static void Validate(int size)
    {
        if (!IsSupportedSize(size))
            throw new ArgumentException($"FFT size {size} is not supported: sizes run from 1 to {MaxBluesteinSize} ({MaxSize} for powers of two)");
    }

    /// <summary>Number of real samples n.</summary>
    public int Size { get; }

    /// <summary>Number of complex bins kept, n/2 + 1.</summary>
    public int Bins => Size / 2 + 1;

    /// <summary>Floats in a split spectrum: 2 (n/2 + 1) (real parts, then imaginary parts).</summary>
    public int SpectrumFloats => 2 * Bins;

    /// <summary>Real-input forward transform: <paramref name="spectrum"/> = X[0..n/2] in split layout.</summary>
    public void Forward(ReadOnlySpan<float> x, // [n]
        Span<float> spectrum)                   // [2, n/2 + 1]: real parts, then imaginary parts
    {
        CheckLengths(x.Length, spectrum.Length);
        if (_bluestein is not null) { _bluestein.ForwardReal(x, spectrum); return; }
        int n = Size;
        if (n == 1) { spectrum[0] = x[0]; spectrum[1] = 0f; return; }
        int h = n / 2;
        var re = spectrum[..h];
        var im = spectrum.Slice(h + 1, h);
        _complex!.LoadPairsBitReversed(x, re, im);
        _complex.Transform(re, im);
        // Split Z into X, in place: bins k and h - k are computed together from Z[k] and Z[h - k].
        float z0r = re[0], z0i = im[0];
        spectrum[0] = z0r + z0i; spectrum[h + 1] = 0f;
        spectrum[h] = z0r - z0i; spectrum[2 * h + 1] = 0f;
        for (int k = 1; k <= h / 2; k++)
        {
            int j = h - k;
            float ar = re[k], ai = im[k], br = re[j], bi = im[j];
            float er = 0.5f * (ar + br), ei = 0.5f * (ai - bi);
            float or = 0.5f * (ai + bi), oi = -0.5f * (ar - br);
            float wr = _wRe[k], wi = _wIm[k];
            float tr = wr * or - wi * oi, ti = wr * oi + wi * or;
            re[k] = er + tr; im[k] = ei + ti;
            re[j] = er - tr; im[j] = ti - ei;
        }
    }

    /// <summary>
    /// Inverse transform (scaled by 1/n): <paramref name="x"/> from the split spectrum X[0..n/2]. The
    /// imaginary parts of bin 0 and, for even n, bin n/2 are ignored (they are zero for the spectrum of a real signal).
    /// </summary>
    public void Inverse(ReadOnlySpan<float> spectrum, // [2, n/2 + 1]: real parts, then imaginary parts
        Span<float> x)                                  // [n]
    {
        CheckLengths(x.Length, spectrum.Length);
        if (_bluestein is not null) { _bluestein.InverseReal(spectrum, x); return; }
        int n = Size;
        if (n == 1) { x[0] = spectrum[0]; return; }
        int h = n / 2;
        var sr = spectrum[..(h + 1)];
        var si = spectrum.Slice(h + 1, h + 1);
        float[] work = ArrayPool<float>.Shared.Rent(n);
        try
        {
            var zr = work.AsSpan(0, h); var zi = work.AsSpan(h, h);
            var rev = _complex!.BitReverse;
            // Z[k] = E[k] + i O[k], E = X[k] + conj X[h-k], O = conj(W^k) (X[k] - conj X[h-k]) (both 2x; folded into the 1/n scale).
            zr[0] = sr[0] + sr[h]; zi[0] = sr[0] - sr[h]; // bit reversal keeps index 0
            for (int k = 1; k <= h / 2; k++)
            {
                int j = h - k;
                float ar = sr[k], ai = si[k], br = sr[j], bi = si[j];
                float er = ar + br, ei = ai - bi;
                float dr = ar - br, di = ai + bi;
                float wr = _wRe[k], wi = -_wIm[k];
                float or = wr * dr - wi * di, oi = wr * di + wi * dr;
                int rk = rev[k], rj = rev[j];
                zr[rk] = er - oi; zi[rk] = ei + or;  // E + i O
                zr[rj] = er + oi; zi[rj] = or - ei;  // conj(E) + i conj(O)
            }
            // Inverse complex FFT = forward FFT with real and imaginary parts swapped.
            _complex.Transform(zi, zr);
            float scale = 1f / n;
            for (int t = 0; t < h; t++)
            {
                x[2 * t] = zr[t] * scale;
                x[2 * t + 1] = zi[t] * scale;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(work);
        }
    }

    private void CheckLengths(int xLength, int spectrumLength)
    {
        if (xLength != Size) throw new ArgumentException($"FFT of size {Size}: signal has {xLength} samples");
        if (spectrumLength != SpectrumFloats) throw new ArgumentException($"FFT of size {Size}: spectrum needs {SpectrumFloats} floats (2 x {Bins} bins), got {spectrumLength}");
    }
}

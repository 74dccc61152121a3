namespace DeepShrink.Compression.Quantization;

/// <summary>
/// A histogram of observed values over a fixed range, with the exact minimum and maximum, from which
/// the calibration methods pick a quantisation range.
/// </summary>
/// <remarks>
/// Used for activations (values seen over calibration batches, too many to keep) and for weights
/// (one histogram per channel). The MSE search evaluates every candidate range on the bin centres,
/// weighted by the counts (as TensorRT's and PyTorch's histogram observers do).
/// </remarks>
public sealed class RangeHistogram
{
    private readonly long[] _counts;

    /// <summary>Lower edge of the first bin.</summary>
    public float Lo { get; }
    /// <summary>Upper edge of the last bin.</summary>
    public float Hi { get; }
    /// <summary>Smallest value added.</summary>
    public float Min { get; private set; } = float.PositiveInfinity;
    /// <summary>Largest value added.</summary>
    public float Max { get; private set; } = float.NegativeInfinity;
    /// <summary>Number of values added.</summary>
    public long Count { get; private set; }
    /// <summary>Counts per bin.</summary>
    public ReadOnlySpan<long> Counts => _counts;

    /// <summary>Creates an empty histogram of <paramref name="bins"/> equal bins over [lo, hi].</summary>
    public RangeHistogram(float lo, float hi, int bins = 2048)
    {
        if (bins < 1) throw new ArgumentOutOfRangeException(nameof(bins));
        if (!(lo <= hi) || float.IsInfinity(lo) || float.IsInfinity(hi)) throw new ArgumentException($"invalid histogram range [{lo}, {hi}]");
        Lo = lo; Hi = hi == lo ? lo + 1e-6f : hi; _counts = new long[bins];
    }

    /// <summary>A histogram over the exact range of <paramref name="values"/>, filled with them.</summary>
    public static RangeHistogram Of(ReadOnlySpan<float> values, int bins = 2048)
    {
        float lo = 0, hi = 0;
        foreach (float v in values) { if (v < lo) lo = v; if (v > hi) hi = v; }
        var h = new RangeHistogram(lo, hi, bins);
        h.Add(values);
        return h;
    }

    /// <summary>Adds values (those outside [Lo, Hi] go to the end bins; NaN is ignored).</summary>
    public void Add(ReadOnlySpan<float> values)
    {
        double k = _counts.Length / ((double)Hi - Lo);
        int last = _counts.Length - 1;
        foreach (float v in values)
        {
            if (float.IsNaN(v)) continue;
            if (v < Min) Min = v;
            if (v > Max) Max = v;
            int b = (int)Math.Clamp((v - (double)Lo) * k, 0, last);
            _counts[b]++;
            Count++;
        }
    }

    private double Center(int b) => Lo + (b + 0.5) * ((double)Hi - Lo) / _counts.Length;

    /// <summary>Value below which <paramref name="p"/> percent of the values lie (linear within the bin).</summary>
    public float Percentile(double p)
    {
        if (p < 0 || p > 100) throw new ArgumentOutOfRangeException(nameof(p), "percentile must be in [0, 100]");
        if (Count == 0) return 0f;
        if (p <= 0) return Min;
        if (p >= 100) return Max;
        double target = p / 100.0 * Count, acc = 0, width = ((double)Hi - Lo) / _counts.Length;
        for (int b = 0; b < _counts.Length; b++)
        {
            if (acc + _counts[b] >= target && _counts[b] > 0)
                return (float)Math.Clamp(Lo + (b + (target - acc) / _counts[b]) * width, Min, Max);
            acc += _counts[b];
        }
        return Max;
    }

    /// <summary>Sum of squared errors of fake-quantising the histogram's values with <paramref name="q"/> (bin-centre approximation).</summary>
    public double SquaredError(QuantParams q)
    {
        double e = 0;
        for (int b = 0; b < _counts.Length; b++)
        {
            if (_counts[b] == 0) continue;
            float c = (float)Center(b);
            double d = c - q.FakeQuantize(c);
            e += _counts[b] * d * d;
        }
        return e;
    }

    /// <summary>
    /// The quantisation parameters of the given scheme for a calibration method: min-max, the
    /// percentile range, or the MSE-optimal range among [f * min, f * max] for f on a grid in (0, 1].
    /// </summary>
    public QuantParams Calibrate(CalibrationMethod method, int bits, bool symmetric, double percentile = 99.99)
    {
        if (Count == 0) return QuantParams.FromRange(0f, 0f, bits, symmetric);
        switch (method)
        {
            case CalibrationMethod.MinMax:
                return QuantParams.FromRange(Min, Max, bits, symmetric);
            case CalibrationMethod.Percentile:
                return QuantParams.FromRange(Math.Min(0f, Percentile(100 - percentile)), Math.Max(0f, Percentile(percentile)), bits, symmetric);
            default:
                var best = QuantParams.FromRange(Min, Max, bits, symmetric);
                double bestErr = SquaredError(best);
                const int Steps = 200;
                for (int i = Steps - 1; i >= 4; i--)
                {
                    float f = i / (float)Steps;
                    var cand = QuantParams.FromRange(Min * f, Max * f, bits, symmetric);
                    double err = SquaredError(cand);
                    if (err < bestErr) { best = cand; bestErr = err; }
                }
                return best;
        }
    }
}

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Scalar specification of the affine quantization helpers (<see cref="QuantKernels"/>,
/// <see cref="Int8Requantize"/>). The vector paths perform the same float operations in the same
/// order, so they agree with these bit for bit.
/// </summary>
/// <remarks>
/// Affine quantization (Jacob et al. 2018): real r ~ scale * (q - zeroPoint), q an integer in [lo, hi].
/// Quantize: q = clamp(roundHalfEven(r / scale) + zeroPoint, lo, hi), NaN maps to zeroPoint (real 0).
/// Dequantize: r = scale * (q - zeroPoint).
/// Requantize an int32 accumulator: y = multiplier * (float)(acc - correction) + bias, then, for an
/// integer output, q = clamp(roundHalfEven(y) + zeroPointOut, lo, hi).
/// </remarks>
public static class QuantReference
{
    /// <summary>q = clamp(roundHalfEven(x / scale) + zeroPoint, lo, hi); NaN gives zeroPoint.</summary>
    public static int QuantizeValue(float x, float scale, int zeroPoint, int lo, int hi)
    {
        if (float.IsNaN(x)) return zeroPoint;
        return RoundClamp(x / scale, zeroPoint, lo, hi);
    }

    /// <summary>clamp(roundHalfEven(y) + zeroPoint, lo, hi) evaluated in float, as the vector paths do.</summary>
    public static int RoundClamp(float y, int zeroPoint, int lo, int hi)
    {
        float v = MathF.Round(y, MidpointRounding.ToEven) + zeroPoint;
        if (float.IsNaN(v)) return zeroPoint;
        return v <= lo ? lo : v >= hi ? hi : (int)v;
    }

    /// <summary>r = scale * (q - zeroPoint).</summary>
    public static float DequantizeValue(int q, float scale, int zeroPoint) => (float)(q - zeroPoint) * scale;

    /// <summary>y = multiplier * (float)(acc - correction) + bias (int32 subtraction wraps, which is exact when the true difference fits).</summary>
    public static float RequantizeValue(int acc, int correction, float multiplier, float bias) =>
        (float)unchecked(acc - correction) * multiplier + bias;

    /// <summary>Reference per-tensor quantization into ints in [lo, hi].</summary>
    public static void Quantize(ReadOnlySpan<float> x, float scale, int zeroPoint, int lo, int hi, Span<int> destination)
    {
        for (int i = 0; i < x.Length; i++) destination[i] = QuantizeValue(x[i], scale, zeroPoint, lo, hi);
    }

    /// <summary>
    /// Reference requantization of acc[m, n]: y[i, j] = multiplier[j or 0] * (acc[i, j] - colCorrection[j] - rowCorrection[i]) + bias[j]
    /// (empty corrections/bias count as 0; a multiplier of length 1 is per-tensor).
    /// </summary>
    public static void RequantizeToFloat(int m, int n, ReadOnlySpan<int> acc, ReadOnlySpan<int> colCorrection,
        ReadOnlySpan<int> rowCorrection, ReadOnlySpan<float> multiplier, ReadOnlySpan<float> bias, Span<float> destination)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                int corr = unchecked((colCorrection.IsEmpty ? 0 : colCorrection[j]) + (rowCorrection.IsEmpty ? 0 : rowCorrection[i]));
                destination[i * n + j] = RequantizeValue(acc[i * n + j], corr,
                    multiplier.Length == 1 ? multiplier[0] : multiplier[j], bias.IsEmpty ? 0f : bias[j]);
            }
    }
}

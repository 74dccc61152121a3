using DeepShrink.Core;

namespace DeepShrink.Compression.Quantization;

/// <summary>
/// Affine (linear) quantisation parameters: a real value x is represented by an integer code
/// <c>q = clamp(round(x / Scale) + ZeroPoint, QMin, QMax)</c> and read back as
/// <c>Scale * (q - ZeroPoint)</c>.
/// </summary>
/// <remarks>
/// Jacob et al., "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
/// Inference" (CVPR 2018), eq. 1. Codes are signed (<c>int8</c> for 8 bits): symmetric schemes use
/// <c>[-(2^(b-1) - 1), 2^(b-1) - 1]</c> with zero point 0; asymmetric ones use <c>[-2^(b-1), 2^(b-1) - 1]</c>
/// and a zero point chosen so that 0.0 is exactly representable (zero padding and ReLU zeros stay exact).
/// </remarks>
public readonly record struct QuantParams(float Scale, int ZeroPoint, int QMin, int QMax)
{
    /// <summary>Code of a value.</summary>
    public int Quantize(float x) => Ops.QuantizeValue(x, Scale, ZeroPoint, QMin, QMax);

    /// <summary>Value of a code (float32, as the int8 codec decodes it).</summary>
    public float Dequantize(int q) => Ops.DequantizeValue(q, Scale, ZeroPoint);

    /// <summary>Quantise then dequantise.</summary>
    public float FakeQuantize(float x) => Dequantize(Quantize(x));

    /// <summary>Smallest and largest representable values.</summary>
    public (float Lo, float Hi) Range => (Dequantize(QMin), Dequantize(QMax));

    /// <summary>Code range of a scheme.</summary>
    public static (int QMin, int QMax) CodeRange(int bits, bool symmetric)
    {
        if (bits < 2 || bits > 8) throw new ArgumentOutOfRangeException(nameof(bits), $"bits must be in [2, 8] (codes are stored as int8), got {bits}");
        int half = 1 << (bits - 1);
        return symmetric ? (-(half - 1), half - 1) : (-half, half - 1);
    }

    /// <summary>
    /// Parameters covering the real range [lo, hi], which is first widened to contain 0. Symmetric:
    /// scale = max(|lo|, |hi|) / QMax, zero point 0. Asymmetric: scale = (hi - lo) / (QMax - QMin),
    /// zero point = round(QMin - lo / scale). A degenerate range (all zeros) gets scale 1.
    /// </summary>
    public static QuantParams FromRange(float lo, float hi, int bits, bool symmetric)
    {
        if (float.IsNaN(lo) || float.IsNaN(hi) || lo > hi) throw new ArgumentException($"invalid range [{lo}, {hi}]");
        lo = MathF.Min(lo, 0f); hi = MathF.Max(hi, 0f);
        var (qmin, qmax) = CodeRange(bits, symmetric);
        if (symmetric)
        {
            float amax = MathF.Max(-lo, hi);
            float s = amax / qmax;
            return new QuantParams(Usable(s), 0, qmin, qmax);
        }
        float scale = Usable((hi - lo) / (qmax - qmin));
        int zp = (int)Math.Clamp(MathF.Round(qmin - lo / scale, MidpointRounding.ToEven), qmin, qmax);
        return new QuantParams(scale, zp, qmin, qmax);
    }

    // Zero, subnormal or infinite scales would make codes meaningless: fall back to 1 (all zeros) or clamp.
    private static float Usable(float s) => !(s > 1e-30f) ? 1f : MathF.Min(s, float.MaxValue);

    /// <summary>Fake-quantises <paramref name="src"/> into <paramref name="dst"/> (may alias).</summary>
    public void FakeQuantize(ReadOnlySpan<float> src, Span<float> dst)
    {
        for (int i = 0; i < src.Length; i++) dst[i] = FakeQuantize(src[i]);
    }

    /// <summary>Sum of squared quantisation errors over the values.</summary>
    public double SquaredError(ReadOnlySpan<float> values)
    {
        double e = 0;
        foreach (float v in values) { double d = v - FakeQuantize(v); e += d * d; }
        return e;
    }
}

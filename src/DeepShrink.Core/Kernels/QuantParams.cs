namespace DeepShrink.Core.Kernels;

/// <summary>Affine quantization parameters: real r ~ Scale * (q - ZeroPoint).</summary>
/// <remarks>
/// Range-based choice as in Jacob et al. 2018 (sec. 3): the representable range always contains 0 so
/// that zero padding and ReLU zeros are exact.
/// </remarks>
/// <param name="Scale">Positive step between neighbouring codes.</param>
/// <param name="ZeroPoint">The code that represents real 0.</param>
public readonly record struct QuantParams(float Scale, int ZeroPoint)
{
    /// <summary>Symmetric signed codes in [-(2^(bits-1) - 1), 2^(bits-1) - 1], zero point 0: scale = absMax / qmax.</summary>
    public static QuantParams Symmetric(float absMax, int bits = 8)
    {
        if (bits < 2 || bits > 16) throw new ArgumentOutOfRangeException(nameof(bits), $"bits must be in [2, 16], got {bits}");
        if (!float.IsFinite(absMax) || absMax < 0) throw new ArgumentOutOfRangeException(nameof(absMax), $"absMax must be finite and >= 0, got {absMax}");
        int qmax = (1 << (bits - 1)) - 1;
        return new QuantParams(absMax > 0 ? absMax / qmax : 1f, 0);
    }

    /// <summary>Unsigned codes in [0, 2^bits - 1] covering [min(min, 0), max(max, 0)]; the zero point is rounded half to even.</summary>
    public static QuantParams Asymmetric(float min, float max, int bits = 8)
    {
        if (bits < 2 || bits > 16) throw new ArgumentOutOfRangeException(nameof(bits), $"bits must be in [2, 16], got {bits}");
        if (!float.IsFinite(min) || !float.IsFinite(max) || min > max) throw new ArgumentException($"invalid range [{min}, {max}]");
        float lo = MathF.Min(min, 0f), hi = MathF.Max(max, 0f);
        int qmax = (1 << bits) - 1;
        if (hi == lo) return new QuantParams(1f, 0);
        float scale = (hi - lo) / qmax;
        int zp = (int)Math.Clamp(MathF.Round(-lo / scale, MidpointRounding.ToEven), 0, qmax);
        return new QuantParams(scale, zp);
    }
}

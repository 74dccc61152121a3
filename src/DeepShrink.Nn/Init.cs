using DeepShrink.Core;

namespace DeepShrink.Nn;

/// <summary>Weight initialisers.</summary>
/// <remarks>
/// Kaiming (He et al. 2015): std = gain / sqrt(fan_in), gain = sqrt(2) for ReLU.
/// Xavier/Glorot (2010): uniform bound sqrt(6 / (fan_in + fan_out)).
/// </remarks>
public static class Init
{
    /// <summary>Fan-in and fan-out of a weight of shape [out, in, ...kernel].</summary>
    public static (int FanIn, int FanOut) Fans(int[] shape)
    {
        if (shape.Length < 2) throw new ArgumentException("fan computation needs a weight of rank >= 2");
        int receptive = 1;
        for (int i = 2; i < shape.Length; i++) receptive *= shape[i];
        return (shape[1] * receptive, shape[0] * receptive);
    }

    /// <summary>Kaiming normal (fan-in, ReLU gain) in place.</summary>
    public static void KaimingNormal(Tensor w, Rng rng, float gain = 1.41421356f)
    {
        var (fanIn, _) = Fans(w.Shape);
        float std = gain / MathF.Sqrt(fanIn);
        var s = w.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)(rng.NextGaussian() * std);
    }

    /// <summary>Kaiming uniform: U(-b, b), b = gain * sqrt(3 / fan_in).</summary>
    public static void KaimingUniform(Tensor w, Rng rng, float gain = 1.41421356f)
    {
        var (fanIn, _) = Fans(w.Shape);
        Uniform(w, rng, gain * MathF.Sqrt(3f / fanIn));
    }

    /// <summary>Xavier uniform: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)).</summary>
    public static void XavierUniform(Tensor w, Rng rng, float gain = 1f)
    {
        var (fanIn, fanOut) = Fans(w.Shape);
        Uniform(w, rng, gain * MathF.Sqrt(6f / (fanIn + fanOut)));
    }

    /// <summary>U(-bound, bound) in place.</summary>
    public static void Uniform(Tensor w, Rng rng, float bound)
    {
        var s = w.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (2f * rng.NextFloat() - 1f) * bound;
    }
}

using DeepShrink.Core;

namespace DeepShrink.Compression.Binarization;

/// <summary>Binarisation of weight tensors: signs, scaling factors and stochastic signs.</summary>
public static class Binarizer
{
    /// <summary>
    /// XNOR-Net weight scaling factors: alpha_c = mean |W_c| over each output channel (axis 0), the
    /// minimiser of ||W_c - alpha B_c||^2 with B_c = sign(W_c) (Rastegari et al. 2016, eq. 4).
    /// </summary>
    public static float[] ChannelAlphas(ReadOnlySpan<float> w, int channels)
    {
        if (channels <= 0 || w.Length % channels != 0) throw new ArgumentException($"{channels} channels do not divide {w.Length} weights");
        int inner = w.Length / channels;
        var a = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double s = 0;
            foreach (float v in w.Slice(c * inner, inner)) s += MathF.Abs(v);
            a[c] = inner == 0 ? 0f : (float)(s / inner);
        }
        return a;
    }

    /// <summary>Mean absolute value of a tensor (the single alpha of a per-layer scale).</summary>
    public static float MeanAbs(ReadOnlySpan<float> w) => ChannelAlphas(w, 1)[0];

    /// <summary>
    /// Writes <c>alpha_c * b</c> into <paramref name="dst"/>, where b = sign(w) (sign(0) = +1), or, when
    /// <paramref name="rng"/> is given, b = +1 with probability hard_sigmoid(w / alpha_c) = clip((w/alpha_c + 1) / 2, 0, 1)
    /// (BinaryConnect's stochastic binarisation, eq. 3). <paramref name="alphas"/> has one value per channel.
    /// </summary>
    public static void Binarize(ReadOnlySpan<float> w, ReadOnlySpan<float> alphas, Span<float> dst, Rng? rng = null)
    {
        if (alphas.Length == 0 || w.Length % alphas.Length != 0) throw new ArgumentException($"{alphas.Length} alphas do not divide {w.Length} weights");
        if (dst.Length != w.Length) throw new ArgumentException("destination length differs from the weights'");
        int inner = w.Length / alphas.Length;
        for (int i = 0; i < w.Length; i++)
        {
            float a = alphas[i / inner];
            bool positive = rng is null ? !(w[i] < 0f) : rng.NextFloat() < Math.Clamp((w[i] / a + 1f) * 0.5f, 0f, 1f);
            dst[i] = positive ? a : -a;
        }
    }
}

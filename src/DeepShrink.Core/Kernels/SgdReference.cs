namespace DeepShrink.Core.Kernels;

/// <summary>Scalar specification of <see cref="SgdKernels"/>.</summary>
public static class SgdReference
{
    /// <summary>g' = w wd + g; v = v mu + g'; w = g' (-lr) + w, then w = v (-lr mu) + w (Nesterov) — or w = v (-lr) + w; no momentum: w = g' (-lr) + w.</summary>
    public static void Step(float lr, float momentum, float weightDecay, bool nesterov, Span<float> w, ReadOnlySpan<float> g, Span<float> v)
    {
        for (int i = 0; i < w.Length; i++)
        {
            float gi = weightDecay != 0f ? w[i] * weightDecay + g[i] : g[i];
            if (momentum == 0f) { w[i] = gi * -lr + w[i]; continue; }
            v[i] = v[i] * momentum + gi;
            if (nesterov)
            {
                w[i] = gi * -lr + w[i];
                w[i] = v[i] * (-lr * momentum) + w[i];
            }
            else w[i] = v[i] * -lr + w[i];
        }
    }
}

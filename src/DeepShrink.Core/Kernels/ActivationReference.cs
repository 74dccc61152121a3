namespace DeepShrink.Core.Kernels;

/// <summary>Scalar specification of <see cref="ActivationKernels"/>.</summary>
public static class ActivationReference
{
    /// <summary>y = max(x, 0): NaN stays NaN, every other x &lt;= 0 (-0 included) gives +0.</summary>
    public static void ReluForward(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = float.IsNaN(x[i]) ? x[i] : x[i] > 0f ? x[i] : 0f;
    }

    /// <summary>y = x where x &gt; 0, else slope * x.</summary>
    public static void LeakyReluForward(float slope, ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = x[i] > 0f ? x[i] : slope * x[i];
    }

    /// <summary>dx = dy where x &gt; 0, else slope * dy.</summary>
    public static void LeakyReluBackward(float slope, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        for (int i = 0; i < x.Length; i++) dx[i] = x[i] > 0f ? dy[i] : slope * dy[i];
    }
}

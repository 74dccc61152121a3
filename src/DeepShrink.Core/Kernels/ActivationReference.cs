namespace DeepShrink.Core.Kernels;

/// <summary>Scalar specification of <see cref="ActivationKernels"/>.</summary>
public static class ActivationReference
{
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

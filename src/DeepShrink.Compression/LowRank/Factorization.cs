using DeepShrink.Core;

namespace DeepShrink.Compression.LowRank;

/// <summary>
/// The result of a decomposition: the layer sequence that replaces <see cref="Original"/> (run in order,
/// each feeding the next, nothing in between), the ranks chosen, and the full-size weight the sequence
/// computes exactly (up to float rounding).
/// </summary>
/// <param name="Method">"svd", "tucker2", "cp" or "spatial-svd".</param>
/// <param name="Original">The decomposed layer.</param>
/// <param name="Layers">The replacement sequence; the original bias sits on the last layer.</param>
/// <param name="Ranks">Ranks per factorised mode (e.g. [rank] for SVD and CP, [R_out, R_in] for Tucker-2).</param>
/// <param name="Approximation">The weight the sequence is equivalent to, shape of the original weight.</param>
/// <param name="RelativeError">||W - approximation||_F / ||W||_F (0 for a zero weight).</param>
public sealed record Factorization(string Method, FactorLayer Original, IReadOnlyList<FactorLayer> Layers,
    int[] Ranks, float[] Approximation, double RelativeError)
{
    /// <summary>Stored parameters of the sequence (weights plus the bias).</summary>
    public long Parameters => Layers.Sum(l => l.Parameters);

    /// <summary>Original parameters divided by factorised parameters.</summary>
    public double CompressionRatio => (double)Original.Parameters / Parameters;

    /// <summary>Runs the sequence on x with the Core ops.</summary>
    public Tensor Forward(Tensor x)
    {
        foreach (var layer in Layers) x = layer.Forward(x);
        return x;
    }

    /// <summary>Multiply-accumulates of the sequence for one input of spatial size (h, w).</summary>
    public long Macs(int h, int w)
    {
        long total = 0;
        foreach (var layer in Layers)
        {
            total += layer.Macs(h, w);
            (h, w) = layer.OutputSize(h, w);
        }
        return total;
    }

    /// <summary>The original layer with the approximated weight (a single dense layer).</summary>
    public FactorLayer ApproximateLayer() => Original with { Weight = Approximation };

    /// <summary>||W - A||_F / ||W||_F in float64.</summary>
    public static double RelativeErrorOf(ReadOnlySpan<float> w, ReadOnlySpan<float> approx)
    {
        double num = 0, den = 0;
        for (int i = 0; i < w.Length; i++)
        {
            double d = (double)w[i] - approx[i];
            num += d * d;
            den += (double)w[i] * w[i];
        }
        return den == 0 ? Math.Sqrt(num) : Math.Sqrt(num / den);
    }

    /// <summary>Rounds a float64 array to float32.</summary>
    internal static float[] ToFloat(ReadOnlySpan<double> a)
    {
        var f = new float[a.Length];
        for (int i = 0; i < a.Length; i++) f[i] = (float)a[i];
        return f;
    }
}

using DeepShrink.Core;

namespace DeepShrink.Data.Transforms;

/// <summary>Mirrors the image left-right with probability <see cref="Probability"/>.</summary>
public sealed class RandomHorizontalFlip : ISampleTransform
{
    /// <summary>Probability of flipping a sample.</summary>
    public double Probability { get; }

    /// <summary>Creates the transform (default probability 0.5).</summary>
    public RandomHorizontalFlip(double probability = 0.5)
    {
        if (!(probability >= 0 && probability <= 1)) throw new ArgumentOutOfRangeException(nameof(probability), "must be in [0, 1]");
        Probability = probability;
    }

    /// <inheritdoc/>
    public void Apply(Span<float> sample, int channels, int height, int width, Rng rng, Span<float> scratch)
    {
        if (rng.NextDouble() < Probability) Flip(sample, channels, height, width);
    }

    /// <summary>Reverses every row of every channel in place.</summary>
    /// <param name="sample">[channels, height, width].</param>
    /// <param name="channels">C.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    public static void Flip(Span<float> sample, int channels, int height, int width)
    {
        int rows = channels * height;
        if (sample.Length < rows * width) throw new ArgumentException($"sample needs {rows * width} floats");
        for (int r = 0; r < rows; r++) sample.Slice(r * width, width).Reverse();
    }
}

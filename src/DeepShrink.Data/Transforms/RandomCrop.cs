using DeepShrink.Core;

namespace DeepShrink.Data.Transforms;

/// <summary>
/// Random translation: conceptually pads the image with <see cref="Padding"/> pixels of
/// <see cref="Fill"/> on every side, then crops an H x W window at a uniformly random offset.
/// </summary>
/// <remarks>
/// The standard CIFAR/MNIST augmentation (e.g. He et al., 2016: "4 pixels are padded on each side,
/// and a 32x32 crop is randomly sampled"). Padding 0 is the identity. On normalised data, zero
/// padding means padding with the mean; pass <c>Fill = (0 - mean) / std</c> to pad with black.
/// </remarks>
public sealed class RandomCrop : ISampleTransform
{
    /// <summary>Pixels of padding on each side (the maximum shift).</summary>
    public int Padding { get; }
    /// <summary>Value of the padded pixels.</summary>
    public float Fill { get; }

    /// <summary>Creates the transform.</summary>
    public RandomCrop(int padding, float fill = 0f)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        if (!float.IsFinite(fill)) throw new ArgumentException("fill must be finite", nameof(fill));
        Padding = padding; Fill = fill;
    }

    /// <inheritdoc/>
    public void Apply(Span<float> sample, int channels, int height, int width, Rng rng, Span<float> scratch)
    {
        int dy = rng.NextInt(2 * Padding + 1) - Padding;
        int dx = rng.NextInt(2 * Padding + 1) - Padding;
        Shift(sample, channels, height, width, dy, dx, Fill, scratch);
    }

    /// <summary>
    /// out[c, y, x] = in[c, y + dy, x + dx] when inside the image, else <paramref name="fill"/>.
    /// </summary>
    /// <param name="sample">[channels, height, width], in place.</param>
    /// <param name="channels">C.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="dy">Vertical offset of the crop window.</param>
    /// <param name="dx">Horizontal offset of the crop window.</param>
    /// <param name="fill">Value for pixels outside the source image.</param>
    /// <param name="scratch">[channels * height * width] workspace.</param>
    public static void Shift(Span<float> sample, int channels, int height, int width, int dy, int dx, float fill, Span<float> scratch)
    {
        int n = channels * height * width;
        if (sample.Length < n || scratch.Length < n) throw new ArgumentException($"sample and scratch need {n} floats");
        if (dy == 0 && dx == 0) return;
        sample[..n].CopyTo(scratch);
        sample[..n].Fill(fill);
        int y0 = Math.Max(0, -dy), y1 = Math.Min(height, height - dy);
        int x0 = Math.Max(0, -dx), x1 = Math.Min(width, width - dx);
        if (y0 >= y1 || x0 >= x1) return;
        int len = x1 - x0;
        for (int c = 0; c < channels; c++)
        {
            int plane = c * height * width;
            for (int y = y0; y < y1; y++)
                scratch.Slice(plane + (y + dy) * width + x0 + dx, len).CopyTo(sample.Slice(plane + y * width + x0, len));
        }
    }
}

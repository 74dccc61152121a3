using DeepShrink.Core;

namespace DeepShrink.Data.Transforms;

/// <summary>
/// A random augmentation applied to one sample in place by <see cref="DataLoader"/>. All
/// randomness comes from the <see cref="Rng"/> passed in, so runs are reproducible from a seed.
/// </summary>
public interface ISampleTransform
{
    /// <summary>Transforms one sample in place.</summary>
    /// <param name="sample">[channels, height, width], transformed in place.</param>
    /// <param name="channels">C.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="rng">Source of randomness (the loader's per-epoch augmentation stream).</param>
    /// <param name="scratch">[channels * height * width] free workspace.</param>
    void Apply(Span<float> sample, int channels, int height, int width, Rng rng, Span<float> scratch);
}

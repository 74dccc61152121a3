using DeepShrink.Core;

namespace DeepShrink.Data;

/// <summary>One minibatch from a <see cref="DataLoader"/>.</summary>
/// <param name="Images">[B, C, H, W] (or [B, C*H*W] with <see cref="DataLoaderOptions.Flatten"/>).</param>
/// <param name="Labels">[B] class labels.</param>
public readonly record struct Batch(Tensor Images, int[] Labels)
{
    /// <summary>Number of samples B.</summary>
    public int Count => Labels.Length;
}

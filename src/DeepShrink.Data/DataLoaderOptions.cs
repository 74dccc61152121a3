using DeepShrink.Data.Transforms;

namespace DeepShrink.Data;

/// <summary>Options of a <see cref="DataLoader"/>; validated by <see cref="Validate"/>.</summary>
public sealed record DataLoaderOptions
{
    /// <summary>Samples per batch (default 64).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Shuffle the order every epoch (default true).</summary>
    public bool Shuffle { get; init; } = true;
    /// <summary>Seed of the shuffling and augmentation streams (default 1234).</summary>
    public ulong Seed { get; init; } = 1234;
    /// <summary>Drop the last batch when it is smaller than <see cref="BatchSize"/> (default false: keep it).</summary>
    public bool DropLast { get; init; }
    /// <summary>Augmentations applied in order to every sample (default none).</summary>
    public IReadOnlyList<ISampleTransform> Transforms { get; init; } = Array.Empty<ISampleTransform>();
    /// <summary>Yield images as [B, C*H*W] instead of [B, C, H, W] (a reshape, no copy).</summary>
    public bool Flatten { get; init; }
    /// <summary>
    /// Reuse one images tensor and labels array for all batches of the same size (fewer large
    /// allocations). A batch is then only valid until the enumerator moves on: do not keep batches
    /// (e.g. <c>ToList()</c>) or run two enumerations of the same loader at once. Default false.
    /// </summary>
    public bool ReuseBuffers { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "batch size must be positive");
        if (Transforms is null) throw new ArgumentNullException(nameof(Transforms));
        for (int i = 0; i < Transforms.Count; i++)
            if (Transforms[i] is null) throw new ArgumentException($"transform {i} is null", nameof(Transforms));
    }
}

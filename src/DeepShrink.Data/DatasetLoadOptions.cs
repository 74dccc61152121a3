namespace DeepShrink.Data;

/// <summary>How <see cref="DatasetSpec.Load"/> prepares the data.</summary>
public sealed record DatasetLoadOptions
{
    /// <summary>Normalisation to apply; null means the dataset's default (see <see cref="DatasetSpec.DefaultNormalization"/>).</summary>
    public Normalization? Normalization { get; init; }
    /// <summary>When true (and <see cref="Normalization"/> is null), compute mean/std from the training images instead of using the documented constants.</summary>
    public bool ComputeNormalization { get; init; }
    /// <summary>Samples carved from the training set into a validation set (0 = none).</summary>
    public int ValidationCount { get; init; }
    /// <summary>Seed of the validation split.</summary>
    public ulong ValidationSeed { get; init; } = 20240901;
}

namespace DeepShrink.Data;

/// <summary>How <see cref="DatasetSpec.Load"/> prepares the data.</summary>
public sealed record DatasetLoadOptions
{
    /// <summary>Normalisation to apply; null means the dataset's default (see <see cref="DatasetSpec.DefaultNormalization"/>).</summary>
    public Normalization? Normalization { get; init; }
    /// <summary>When true (and <see cref="Normalization"/> is null), compute mean/std from the training images instead of using the documented constants.</summary>
    public bool ComputeNormalization { get; init; }
    /// <summary>Samples carved from the training set into a validation set (0 = none; ignored when an image folder has <c>val/</c>).</summary>
    public int ValidationCount { get; init; }
    /// <summary>Seed of the validation split.</summary>
    public ulong ValidationSeed { get; init; } = 20240901;
    /// <summary>
    /// Side N of the samples: every image is resized bilinearly to N x N (see <see cref="ImageTransform.ResizeBilinear"/>).
    /// Null keeps the stored size (an image folder then needs all images of one size).
    /// </summary>
    public int? ImageSize { get; init; }
    /// <summary>
    /// Channels of the samples: 1 (RGB converted to grey with ITU-R 601 luma) or 3 (grey replicated).
    /// Null keeps the stored channels (an image folder: 1 when every image is grey, else 3).
    /// </summary>
    public int? Channels { get; init; }
    /// <summary>
    /// Colour channel order of the model the data is for (see <see cref="Data.ChannelOrder"/>): sample channel c
    /// receives image (RGB) channel <c>ChannelOrder[c]</c>, e.g. [2, 1, 0] for a BGR model. Applied to samples
    /// with 3 channels decoded from colour sources (image folders; IDX files storing 3 channels) after decoding,
    /// resizing and channel conversion and before normalisation, so <see cref="Normalization"/> is given in the
    /// model's order (a computed normalisation is measured after the reordering). Grey sources (1 channel, or grey
    /// replicated to 3) are unaffected. Null: the image order.
    /// </summary>
    public int[]? ChannelOrder { get; init; }
    /// <summary>Fraction of each class held out as the test set when an image folder has no <c>train/</c> and <c>test/</c>.</summary>
    public double TestFraction { get; init; } = 0.2;
    /// <summary>Seed of the per-class train/test split of an image folder without <c>train/</c> and <c>test/</c>.</summary>
    public ulong SplitSeed { get; init; } = 20240917;

    /// <summary>
    /// The image size and channels of a model's square [1|3, N, N] sample shape, which data for that model is resized
    /// and converted to unless the user says otherwise; (null, null) for any other shape (the data is used as stored).
    /// Every path that loads data for a stored model (the CLI verbs, sweep points) takes the rule from here.
    /// </summary>
    public static (int? ImageSize, int? Channels) ImageInputOf(IReadOnlyList<int> sampleShape)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        return sampleShape.Count == 3 && sampleShape[1] == sampleShape[2] && sampleShape[1] > 0 && sampleShape[0] is 1 or 3
            ? (sampleShape[1], sampleShape[0]) : (null, null);
    }
}

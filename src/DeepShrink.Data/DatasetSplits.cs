namespace DeepShrink.Data;

/// <summary>A loaded dataset: training, optional validation and test sets, and the normalisation used.</summary>
/// <param name="Spec">The dataset it came from.</param>
/// <param name="Train">Training set (without the validation samples).</param>
/// <param name="Validation">Validation set carved from the training files, or null.</param>
/// <param name="Test">Test set.</param>
/// <param name="Normalization">Normalisation applied to all three sets.</param>
public sealed record DatasetSplits(DatasetSpec Spec, ImageDataset Train, ImageDataset? Validation, ImageDataset Test, Normalization Normalization);

namespace DeepShrink.Nn.Zoo;

/// <summary>Documented default hyper-parameters for training a zoo model (see docs/RESULTS.md).</summary>
public sealed record TrainingDefaults
{
    /// <summary>Epochs.</summary>
    public int Epochs { get; init; }
    /// <summary>Optimiser: sgd, adam or adamw.</summary>
    public string Optimizer { get; init; } = "sgd";
    /// <summary>Peak learning rate.</summary>
    public float Lr { get; init; }
    /// <summary>SGD momentum (Nesterov).</summary>
    public float Momentum { get; init; } = 0.9f;
    /// <summary>Weight decay.</summary>
    public float WeightDecay { get; init; }
    /// <summary>Minibatch size.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Linear warm-up epochs before cosine decay.</summary>
    public double WarmupEpochs { get; init; }
    /// <summary>Random-crop padding (0 = no augmentation).</summary>
    public int CropPadding { get; init; }
    /// <summary>Random left-right flips of the training images.</summary>
    public bool Flip { get; init; }
    /// <summary>Label smoothing of the cross-entropy targets.</summary>
    public float LabelSmoothing { get; init; }
    /// <summary>Validation samples carved from the training set.</summary>
    public int ValidationCount { get; init; } = 5000;
    /// <summary>Image size the model trains at when none is given (null: the dataset's or model's own).</summary>
    public int? ImageSize { get; init; }

    /// <summary>
    /// Defaults for fine-tuning a pretrained model or model file (<c>train --model FILE</c>):
    /// <paramref name="linearProbe"/> trains only a new head on cached features. Pretrained models with
    /// a fixed large input get a default image size chosen for 2-core machines (see docs/RESULTS.md).
    /// </summary>
    public static TrainingDefaults FineTune(string model, bool linearProbe) => (model, linearProbe) switch
    {
        // 64 x 64 (4 epochs, 94.13 % on Fashion-MNIST) rather than 32 x 32 (5 epochs, 93.02 %): at 32 the ImageNet stem
        // leaves 8 x 8 maps after the first stage and 1 x 1 after the last; 64 costs ~4x per epoch (docs/RESULTS.md).
        ("resnet18-imagenet", false) => new() { Epochs = 4, Lr = 0.01f, WeightDecay = 5e-5f, WarmupEpochs = 0.25, LabelSmoothing = 0.1f, ImageSize = 64 },
        ("resnet18-imagenet", true) => new() { Epochs = 30, Lr = 0.05f, WeightDecay = 1e-4f, WarmupEpochs = 1, ImageSize = 32 },
        (_, false) => new() { Epochs = 5, Lr = 0.01f, WeightDecay = 5e-5f, WarmupEpochs = 0.25, LabelSmoothing = 0.1f },
        (_, true) => new() { Epochs = 30, Lr = 0.05f, WeightDecay = 1e-4f, WarmupEpochs = 1 },
    };

    /// <summary>Defaults for a zoo architecture.</summary>
    public static TrainingDefaults For(string arch) => arch switch
    {
        "lenet-300-100" => new() { Epochs = 30, Lr = 0.05f, WeightDecay = 1e-4f, LabelSmoothing = 0.1f, WarmupEpochs = 1 },
        "lenet-5" => new() { Epochs = 20, Lr = 0.03f, WeightDecay = 5e-4f, LabelSmoothing = 0.1f, WarmupEpochs = 1 },
        "vgg-small" or "vgg-small-dws" or "vgg-small-fire" => new() { Epochs = 15, Lr = 0.05f, WeightDecay = 5e-4f, WarmupEpochs = 1, CropPadding = 2 },
        "resnet-20" => new() { Epochs = 15, Lr = 0.1f, WeightDecay = 5e-4f, WarmupEpochs = 1, CropPadding = 2 },
        _ => throw new ArgumentException($"unknown model '{arch}' (known: {string.Join(", ", ModelZoo.Names)})"),
    };
}

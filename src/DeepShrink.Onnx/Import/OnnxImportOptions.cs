namespace DeepShrink.Onnx.Import;

/// <summary>Settings of <see cref="OnnxImporter"/>; immutable, validated by <see cref="Validate"/>.</summary>
public sealed record OnnxImportOptions
{
    /// <summary>The defaults: 64 Mi elements per tensor, 512 Mi in all, full-window average pooling kept as is.</summary>
    public static OnnxImportOptions Default { get; } = new();

    /// <summary>
    /// Turns an <c>AveragePool</c> whose window covers its whole (unpadded) input into
    /// <c>global_avgpool2d</c>, so the model accepts other image sizes (e.g. ResNet18's final 7x7 pooling
    /// at a smaller <c>--image-size</c>). Exact at the imported size. Default false.
    /// </summary>
    public bool GlobalPoolFullWindowAverage { get; init; }

    /// <summary>Most elements one tensor may declare (checked before anything is allocated). Default 2^26.</summary>
    public long MaxTensorElements { get; init; } = 1L << 26;

    /// <summary>Most elements all constant tensors together may declare. Default 2^29.</summary>
    public long MaxTotalElements { get; init; } = 1L << 29;

    /// <summary>Throws <see cref="ArgumentException"/> when a limit is not positive.</summary>
    public void Validate()
    {
        if (MaxTensorElements < 1) throw new ArgumentException($"MaxTensorElements must be >= 1, got {MaxTensorElements}");
        if (MaxTotalElements < MaxTensorElements) throw new ArgumentException($"MaxTotalElements ({MaxTotalElements}) must be >= MaxTensorElements ({MaxTensorElements})");
    }
}

namespace DeepShrink.Format;

/// <summary>Limits applied when reading and decoding a <c>.dsz</c> file.</summary>
/// <param name="MaxTensorElements">Decoding a tensor with more elements throws <see cref="DszFormatException"/>.</param>
public sealed record DszReadOptions(long MaxTensorElements = DszLimits.DefaultMaxTensorElements)
{
    /// <summary>The default limits.</summary>
    public static DszReadOptions Default { get; } = new();
}

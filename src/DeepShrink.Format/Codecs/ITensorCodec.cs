namespace DeepShrink.Format.Codecs;

/// <summary>
/// Decoding side of a per-tensor codec. Encoders are static methods of the concrete codec classes,
/// because each takes a different already-compressed representation (indices and centroids, int8
/// values and scales, factors, ...).
/// </summary>
public interface ITensorCodec
{
    /// <summary>Codec name as stored in the <c>.dsz</c> header.</summary>
    string Name { get; }

    /// <summary>
    /// Validates parameters and parts against the shape, then decodes to float32 values in row-major
    /// order. Any inconsistency throws <see cref="DszFormatException"/>; allocations are bounded by the
    /// element count and the part sizes.
    /// </summary>
    float[] Decode(EncodedTensor tensor);

    /// <summary>Size and bit statistics (validates like <see cref="Decode"/>).</summary>
    DszTensorStats ComputeStats(EncodedTensor tensor);
}

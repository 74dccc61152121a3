using DeepShrink.Core;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Format;

/// <summary>
/// One tensor of a <see cref="DszFile"/>: its name, shape and codec, the encoded form (for runtime
/// kernels that work on compressed data) and lazy decoding.
/// </summary>
public sealed class DszTensor
{
    private readonly DszReadOptions _options;

    internal DszTensor(string name, EncodedTensor encoded, DszReadOptions options)
    {
        Name = name; Encoded = encoded; _options = options;
    }

    /// <summary>Tensor name (e.g. <c>fc1.weight</c>).</summary>
    public string Name { get; }

    /// <summary>The stored representation; pass it to a codec's <c>Open</c> for compressed kernels.</summary>
    public EncodedTensor Encoded { get; }

    /// <summary>Tensor shape.</summary>
    public IReadOnlyList<int> Shape => Encoded.Shape;

    /// <summary>Codec name.</summary>
    public string Codec => Encoded.Codec;

    /// <summary>Decodes to float32 values (row-major); defects throw <see cref="DszFormatException"/> naming the tensor.</summary>
    public float[] DecodeData() => Guard(() => Encoded.Decode(_options.MaxTensorElements));

    /// <summary>Decodes to a <see cref="Tensor"/>.</summary>
    public Tensor Decode() => new(DecodeData(), Encoded.ShapeArray());

    /// <summary>Size and bit statistics (see <see cref="DszTensorStats"/>).</summary>
    public DszTensorStats ComputeStats() => Guard(() =>
    {
        if (Encoded.ElementCount > _options.MaxTensorElements)
            throw new DszFormatException($"tensor has {Encoded.ElementCount} elements, more than the limit {_options.MaxTensorElements}");
        return Encoded.ComputeStats();
    });

    private T Guard<T>(Func<T> action)
    {
        try { return action(); }
        catch (DszFormatException e) { throw e.WithContext($"tensor '{Name}'"); }
    }
}

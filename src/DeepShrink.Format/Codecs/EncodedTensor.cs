using System.Text.Json;
using System.Text.Json.Nodes;
using DeepShrink.Core;

namespace DeepShrink.Format.Codecs;

/// <summary>
/// One tensor in compressed form: its shape, the codec that encoded it, the codec parameters (a JSON
/// object) and the named binary parts (each stored as one checksummed blob in a <c>.dsz</c> file).
/// </summary>
/// <remarks>
/// Produced by the codecs' <c>Encode</c> methods and by <see cref="DszFile"/> when reading. Immutable:
/// the parameters are an immutable <see cref="JsonElement"/> and the parts are read-only memory.
/// </remarks>
public sealed class EncodedTensor
{
    private readonly int[] _shape;
    private readonly Dictionary<string, ReadOnlyMemory<byte>> _parts;

    /// <summary>Creates an encoded tensor; the shape must be valid (see <see cref="DszLimits"/>).</summary>
    /// <exception cref="DszFormatException">The shape is invalid or a part name is empty.</exception>
    public EncodedTensor(string codec, ReadOnlySpan<int> shape, JsonObject parameters, IEnumerable<KeyValuePair<string, ReadOnlyMemory<byte>>> parts)
        : this(codec, shape, ToElement(parameters), parts) { }

    /// <summary>Creates an encoded tensor from a parameter object given as a <see cref="JsonElement"/>.</summary>
    public EncodedTensor(string codec, ReadOnlySpan<int> shape, JsonElement parameters, IEnumerable<KeyValuePair<string, ReadOnlyMemory<byte>>> parts)
    {
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(parts);
        if (parameters.ValueKind != JsonValueKind.Object) throw new DszFormatException("codec parameters must be a JSON object");
        Codec = codec;
        _shape = shape.ToArray();
        ElementCount = CheckedElementCount(_shape);
        Params = parameters.Clone();
        _parts = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        foreach (var (name, data) in parts)
        {
            if (string.IsNullOrEmpty(name)) throw new DszFormatException("a part name is empty");
            if (!_parts.TryAdd(name, data)) throw new DszFormatException($"part '{name}' appears twice");
        }
    }

    /// <summary>Codec name, e.g. <c>sparse-codebook</c> (see <see cref="TensorCodecs"/>).</summary>
    public string Codec { get; }

    /// <summary>Tensor shape, outermost dimension first.</summary>
    public IReadOnlyList<int> Shape => _shape;

    /// <summary>Shape as a new array.</summary>
    public int[] ShapeArray() => (int[])_shape.Clone();

    /// <summary>Product of the dimensions.</summary>
    public long ElementCount { get; }

    /// <summary>Codec parameters (a JSON object).</summary>
    public JsonElement Params { get; }

    /// <summary>Named binary parts.</summary>
    public IReadOnlyDictionary<string, ReadOnlyMemory<byte>> Parts => _parts;

    /// <summary>Total bytes of all parts.</summary>
    public long PayloadBytes => _parts.Values.Sum(p => (long)p.Length);

    /// <summary>The codec that decodes this tensor (throws <see cref="DszFormatException"/> for unknown names).</summary>
    public ITensorCodec GetCodec() => TensorCodecs.Get(Codec);

    /// <summary>Decodes to float32 values in row-major order, bit-exactly as the encoder defined them.</summary>
    /// <param name="maxElements">Refuse (with <see cref="DszFormatException"/>) tensors with more elements.</param>
    public float[] Decode(long maxElements = DszLimits.DefaultMaxTensorElements)
    {
        if (ElementCount > maxElements)
            throw new DszFormatException($"tensor has {ElementCount} elements, more than the limit {maxElements}");
        return GetCodec().Decode(this);
    }

    /// <summary>Decodes to a <see cref="Tensor"/> of <see cref="Shape"/>.</summary>
    public Tensor DecodeTensor(long maxElements = DszLimits.DefaultMaxTensorElements) => new(Decode(maxElements), _shape);

    /// <summary>Size and bit statistics for reports (see <see cref="DszTensorStats"/>).</summary>
    public DszTensorStats ComputeStats() => GetCodec().ComputeStats(this);

    internal static long CheckedElementCount(ReadOnlySpan<int> shape)
    {
        if (shape.Length > DszLimits.MaxRank) throw new DszFormatException($"rank {shape.Length} exceeds {DszLimits.MaxRank}");
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new DszFormatException($"negative dimension {d} in shape {ShapeUtil.Format(shape)}");
            n *= d;
            if (n > int.MaxValue) throw new DszFormatException($"shape {ShapeUtil.Format(shape)} has more than 2^31-1 elements");
        }
        return n;
    }

    private static JsonElement ToElement(JsonObject parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        using var doc = JsonDocument.Parse(parameters.ToJsonString());
        return doc.RootElement.Clone();
    }
}

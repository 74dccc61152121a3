using System.Text.Json.Nodes;

namespace DeepShrink.Format.Codecs;

/// <summary>
/// Uncompressed codecs. <c>dense-f32</c> stores the raw IEEE float32 bits (little-endian, row-major)
/// and round trips every value bit-exactly, including NaN payloads, infinities and -0.0.
/// <c>dense-f16</c> stores IEEE binary16: encoding rounds to the nearest half (ties to even, overflow
/// to infinity) and decoding widens exactly, so <c>Decode(Encode(x))[i] == (float)(Half)x[i]</c> and
/// values representable in half precision round trip bit-exactly.
/// </summary>
public sealed class DenseCodec : ITensorCodec
{
    /// <summary>Name of the float32 codec.</summary>
    public const string F32Name = "dense-f32";
    /// <summary>Name of the float16 codec.</summary>
    public const string F16Name = "dense-f16";

    /// <summary>The float32 codec.</summary>
    public static DenseCodec F32 { get; } = new(F32Name, 4);
    /// <summary>The float16 codec.</summary>
    public static DenseCodec F16 { get; } = new(F16Name, 2);

    private readonly int _bytesPerElement;

    private DenseCodec(string name, int bytesPerElement) { Name = name; _bytesPerElement = bytesPerElement; }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Encodes row-major float32 values. Part: <c>data</c> (4 bytes per element).</summary>
    public static EncodedTensor EncodeF32(ReadOnlySpan<float> values, ReadOnlySpan<int> shape)
    {
        CodecParams.CheckShape(shape, values.Length, "values");
        return new EncodedTensor(F32Name, shape, new JsonObject(), [new("data", RawIO.FloatsToBytes(values))]);
    }

    /// <summary>Encodes row-major values rounded to float16. Part: <c>data</c> (2 bytes per element).</summary>
    public static EncodedTensor EncodeF16(ReadOnlySpan<float> values, ReadOnlySpan<int> shape)
    {
        CodecParams.CheckShape(shape, values.Length, "values");
        return new EncodedTensor(F16Name, shape, new JsonObject(), [new("data", RawIO.FloatsToHalfBytes(values))]);
    }

    /// <inheritdoc />
    public float[] Decode(EncodedTensor t)
    {
        CodecParams.ExpectCodec(t, Name);
        CodecParams.ExpectKeys(t);
        CodecParams.ExpectParts(t, "data");
        var data = CodecParams.Part(t, "data", t.ElementCount * _bytesPerElement).Span;
        return _bytesPerElement == 4 ? RawIO.BytesToFloats(data) : RawIO.HalfBytesToFloats(data);
    }

    /// <inheritdoc />
    public DszTensorStats ComputeStats(EncodedTensor t)
    {
        long n = t.ElementCount;
        long bits = 8L * _bytesPerElement * n;
        return new DszTensorStats(Name, n, CodecParams.CountNonzeros(Decode(t)), n, 0,
            8 * _bytesPerElement, bits, bits, 0, 0, 0, 0, t.PayloadBytes);
    }
}

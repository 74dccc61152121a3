using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace DeepShrink.Format.Codecs;

/// <summary>
/// <c>int8</c>: linear (affine) 8-bit quantisation, per tensor or per channel along one axis.
/// </summary>
/// <remarks>
/// Decoding is <c>x = scale[c] * (float)(q - zeroPoint[c])</c> (Jacob et al., "Quantization and Training
/// of Neural Networks for Efficient Integer-Arithmetic-Only Inference", CVPR 2018, eq. 1), evaluated
/// in float32 with one rounding (the integer difference converts exactly), so it is deterministic.
/// Parameters: <c>axis</c> (null = per-tensor). Parts: <c>q</c> (one signed byte per element),
/// <c>scales</c> (float32 per channel), <c>zeroPoints</c> (signed byte per channel).
/// </remarks>
public sealed class Int8Codec : ITensorCodec
{
    /// <summary>Codec name in the header.</summary>
    public const string CodecName = "int8";

    /// <summary>The codec instance.</summary>
    public static Int8Codec Instance { get; } = new();

    private Int8Codec() { }

    /// <inheritdoc />
    public string Name => CodecName;

    /// <summary>Encodes already-quantised values.</summary>
    /// <param name="q">Quantised values, row-major.</param>
    /// <param name="shape">Tensor shape.</param>
    /// <param name="scales">One scale per channel (one value when <paramref name="axis"/> is null).</param>
    /// <param name="zeroPoints">One zero point per channel.</param>
    /// <param name="axis">Channel axis, or null for a single per-tensor scale.</param>
    public static EncodedTensor Encode(ReadOnlySpan<sbyte> q, ReadOnlySpan<int> shape, ReadOnlySpan<float> scales, ReadOnlySpan<sbyte> zeroPoints, int? axis)
    {
        CodecParams.CheckShape(shape, q.Length, "q");
        CodecParams.CheckAxis(shape, axis, scales.Length, "scales");
        CodecParams.CheckAxis(shape, axis, zeroPoints.Length, "zeroPoints");
        var p = new JsonObject { ["axis"] = axis };
        return new EncodedTensor(CodecName, shape, p,
        [
            new("q", MemoryMarshal.AsBytes(q).ToArray()),
            new("scales", RawIO.FloatsToBytes(scales)),
            new("zeroPoints", MemoryMarshal.AsBytes(zeroPoints).ToArray()),
        ]);
    }

    /// <summary>The quantised representation without dequantising (for int8 kernels).</summary>
    public static Int8Tensor Open(EncodedTensor t)
    {
        CodecParams.ExpectCodec(t, CodecName);
        CodecParams.ExpectKeys(t, "axis");
        CodecParams.ExpectParts(t, "q", "scales", "zeroPoints");
        int? axis = CodecParams.GetAxis(t, "axis");
        var layout = CodecParams.ChannelLayout(t.Shape, axis);
        var q = MemoryMarshal.Cast<byte, sbyte>(CodecParams.Part(t, "q", t.ElementCount).Span).ToArray();
        var scales = RawIO.BytesToFloats(CodecParams.Part(t, "scales", 4L * layout.Channels).Span);
        var zps = MemoryMarshal.Cast<byte, sbyte>(CodecParams.Part(t, "zeroPoints", layout.Channels).Span).ToArray();
        return new Int8Tensor(t.ShapeArray(), axis, q, scales, zps);
    }

    /// <inheritdoc />
    public float[] Decode(EncodedTensor t) => Open(t).Dequantize();

    /// <inheritdoc />
    public DszTensorStats ComputeStats(EncodedTensor t)
    {
        var x = Open(t);
        long n = t.ElementCount;
        return new DszTensorStats(Name, n, CodecParams.CountNonzeros(x.Dequantize()), n, 0, 8, 8 * n, 8 * n, 0, 0, 0,
            40L * x.Scales.Length, t.PayloadBytes);
    }
}

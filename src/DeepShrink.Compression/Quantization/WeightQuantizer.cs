using DeepShrink.Core;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Compression.Quantization;

/// <summary>
/// Post-training linear quantisation of a weight tensor, per tensor or per output channel (axis 0),
/// to int8 codes stored with the <c>int8</c> codec.
/// </summary>
/// <remarks>
/// Per-channel ranges (Krishnamoorthi, "Quantizing deep convolutional networks for efficient
/// inference", 2018, sec. 2.3) keep channels with small weights from being crushed by the largest
/// channel's range. The dequantised weights are the codec's own decode, so a model holding them is
/// bit-identical to the stored file.
/// </remarks>
public static class WeightQuantizer
{
    /// <summary>Quantisation parameters of each channel of <paramref name="w"/> (one entry when per tensor).</summary>
    public static QuantParams[] Calibrate(Tensor w, QuantScheme scheme)
        => Calibrate(w.ContiguousData().Span, w.Rank >= 1 ? w.Shape[0] : 1, scheme);

    /// <summary>Quantisation parameters of each of the <paramref name="outChannels"/> channels (axis 0) of <paramref name="data"/>.</summary>
    public static QuantParams[] Calibrate(ReadOnlySpan<float> data, int outChannels, QuantScheme scheme)
    {
        int channels = scheme.PerChannel ? outChannels : 1;
        if (channels <= 0 || data.Length % channels != 0) throw new ArgumentException($"{channels} channels do not divide {data.Length} weights");
        int inner = data.Length / channels;
        var res = new QuantParams[channels];
        for (int c = 0; c < channels; c++)
        {
            var slice = data.Slice(c * inner, inner);
            var h = RangeHistogram.Of(slice, Math.Clamp(inner, 64, 2048));
            res[c] = h.Calibrate(scheme.Method, scheme.Bits, scheme.Symmetric, scheme.Percentile);
        }
        return res;
    }

    /// <summary>Quantises <paramref name="w"/> with per-channel parameters and encodes it with the int8 codec.</summary>
    public static EncodedTensor Encode(Tensor w, QuantParams[] channels)
    {
        var data = w.ContiguousData().Span;
        if (channels.Length == 0 || data.Length % channels.Length != 0)
            throw new ArgumentException($"{channels.Length} channel parameters do not divide {data.Length} weights");
        int inner = data.Length / channels.Length;
        var q = new sbyte[data.Length];
        for (int i = 0; i < q.Length; i++) q[i] = checked((sbyte)channels[i / inner].Quantize(data[i]));
        var scales = channels.Select(p => p.Scale).ToArray();
        var zps = channels.Select(p => checked((sbyte)p.ZeroPoint)).ToArray();
        int? axis = channels.Length > 1 ? 0 : null;
        return Int8Codec.Encode(q, w.Shape, scales, zps, axis);
    }

    /// <summary>Fake-quantises <paramref name="src"/> (laid out like a tensor with the given channels) into <paramref name="dst"/>.</summary>
    public static void FakeQuantize(ReadOnlySpan<float> src, Span<float> dst, QuantParams[] channels)
    {
        int inner = src.Length / channels.Length;
        for (int c = 0; c < channels.Length; c++)
            channels[c].FakeQuantize(src.Slice(c * inner, inner), dst.Slice(c * inner, inner));
    }
}

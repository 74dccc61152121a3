using System.Text.Json.Nodes;

namespace DeepShrink.Format.Codecs;

/// <summary>
/// <c>binary</c>: one sign bit per weight plus a scale alpha per tensor or per channel.
/// </summary>
/// <remarks>
/// BinaryConnect (Courbariaux et al., NeurIPS 2015) uses alpha = 1; XNOR-Net (Rastegari et al.,
/// ECCV 2016, eq. 4) uses per-output-channel alpha = mean |W|. Decoding is
/// <c>x[i] = bit[i] ? alpha[c] : -alpha[c]</c>, where <c>-</c> flips the sign bit (exact).
/// Parameters: <c>axis</c> (null = one alpha). Parts: <c>signs</c> (bit i of the stream, LSB-first,
/// is 1 for +alpha; zero padding to a byte), <c>scales</c> (float32 alpha per channel).
/// </remarks>
public sealed class BinaryCodec : ITensorCodec
{
    /// <summary>Codec name in the header.</summary>
    public const string CodecName = "binary";

    /// <summary>The codec instance.</summary>
    public static BinaryCodec Instance { get; } = new();

    private BinaryCodec() { }

    /// <inheritdoc />
    public string Name => CodecName;

    /// <summary>
    /// Encodes signs taken from <paramref name="signSource"/> (+1 where the value is not negative, the
    /// BinaryConnect convention sign(0) = +1) with the given scales.
    /// </summary>
    public static EncodedTensor EncodeSigns(ReadOnlySpan<float> signSource, ReadOnlySpan<int> shape, ReadOnlySpan<float> alphas, int? axis)
    {
        CodecParams.CheckShape(shape, signSource.Length, "signSource");
        CodecParams.CheckAxis(shape, axis, alphas.Length, "alphas");
        var w = new BitWriter(signSource.Length / 8 + 16);
        foreach (float v in signSource) w.WriteBit(!(v < 0f));
        return Build(shape, axis, w.ToArray(), alphas);
    }

    /// <summary>
    /// Encodes an already binarised tensor: within each channel every element must be +a or -a for one
    /// magnitude a (compared bit-exactly), which becomes that channel's alpha. Round trips bit-exactly.
    /// </summary>
    public static EncodedTensor Encode(ReadOnlySpan<float> values, ReadOnlySpan<int> shape, int? axis)
    {
        CodecParams.CheckShape(shape, values.Length, "values");
        var layout = CodecParams.CheckAxis(shape, axis, -1, "alphas");
        var alphaBits = new int[layout.Channels];
        var seen = new bool[layout.Channels];
        var w = new BitWriter(values.Length / 8 + 16);
        for (int i = 0; i < values.Length; i++)
        {
            int bitsOf = BitConverter.SingleToInt32Bits(values[i]);
            int c = CodecParams.ChannelOf(i, layout);
            int mag = bitsOf & int.MaxValue;
            if (!seen[c]) { seen[c] = true; alphaBits[c] = mag; }
            else if (alphaBits[c] != mag)
                throw new ArgumentException($"element {i} = {values[i]:R} has a different magnitude than channel {c}'s {BitConverter.Int32BitsToSingle(alphaBits[c]):R}; the tensor is not binarised");
            w.WriteBit(bitsOf >= 0);
        }
        var alphas = Array.ConvertAll(alphaBits, BitConverter.Int32BitsToSingle);
        return Build(shape, axis, w.ToArray(), alphas);
    }

    private static EncodedTensor Build(ReadOnlySpan<int> shape, int? axis, byte[] signs, ReadOnlySpan<float> alphas) =>
        new(CodecName, shape, new JsonObject { ["axis"] = axis },
            [new("signs", signs), new("scales", RawIO.FloatsToBytes(alphas))]);

    /// <summary>The packed signs and scales without expanding (for XNOR / popcount kernels).</summary>
    public static BinaryTensor Open(EncodedTensor t)
    {
        CodecParams.ExpectCodec(t, CodecName);
        CodecParams.ExpectKeys(t, "axis");
        CodecParams.ExpectParts(t, "signs", "scales");
        int? axis = CodecParams.GetAxis(t, "axis");
        var layout = CodecParams.ChannelLayout(t.Shape, axis);
        var signs = CodecParams.Part(t, "signs", (t.ElementCount + 7) / 8);
        var r = new BitReader(signs);
        r.Skip((int)t.ElementCount);
        r.ExpectEnd("binary signs");
        var scales = RawIO.BytesToFloats(CodecParams.Part(t, "scales", 4L * layout.Channels).Span);
        return new BinaryTensor(t.ShapeArray(), axis, signs.ToArray(), scales);
    }

    /// <inheritdoc />
    public float[] Decode(EncodedTensor t) => Open(t).ToDense();

    /// <inheritdoc />
    public DszTensorStats ComputeStats(EncodedTensor t)
    {
        var x = Open(t);
        long n = t.ElementCount;
        return new DszTensorStats(Name, n, CodecParams.CountNonzeros(x.ToDense()), n, 0, 1, n, n, 0, 0, 0, 32L * x.Scales.Length, t.PayloadBytes);
    }
}

namespace DeepShrink.Format.Codecs;

/// <summary>A binarised tensor in packed form: <c>x[i] = IsPositive(i) ? Scales[c] : -Scales[c]</c>.</summary>
public sealed class BinaryTensor
{
    private readonly int[] _shape;
    private readonly byte[] _packed;
    private readonly float[] _scales;

    internal BinaryTensor(int[] shape, int? axis, byte[] packed, float[] scales)
    {
        _shape = shape; Axis = axis; _packed = packed; _scales = scales;
    }

    /// <summary>Tensor shape.</summary>
    public IReadOnlyList<int> Shape => _shape;
    /// <summary>Channel axis of the scales, or null for one scale.</summary>
    public int? Axis { get; }
    /// <summary>Sign bits, LSB-first: bit <c>i % 8</c> of byte <c>i / 8</c> is 1 when element i is +alpha.</summary>
    public ReadOnlySpan<byte> PackedSigns => _packed;
    /// <summary>Alpha per channel.</summary>
    public ReadOnlySpan<float> Scales => _scales;

    /// <summary>True when element <paramref name="i"/> (flat, row-major) is +alpha.</summary>
    public bool IsPositive(long i) => ((_packed[i >> 3] >> (int)(i & 7)) & 1) != 0;

    /// <summary>Expands to float32 values (the codec's decode).</summary>
    public float[] ToDense()
    {
        var layout = CodecParams.ChannelLayout(_shape, Axis);
        var x = new float[EncodedTensor.CheckedElementCount(_shape)];
        for (int i = 0; i < x.Length; i++)
        {
            float a = _scales[CodecParams.ChannelOf(i, layout)];
            x[i] = IsPositive(i) ? a : BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(a) ^ int.MinValue);
        }
        return x;
    }
}

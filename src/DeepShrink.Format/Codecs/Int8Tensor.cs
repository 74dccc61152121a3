namespace DeepShrink.Format.Codecs;

/// <summary>An int8 tensor in quantised form: <c>x[i] = Scales[c] * (Q[i] - ZeroPoints[c])</c>, c = channel of i.</summary>
public sealed class Int8Tensor
{
    private readonly sbyte[] _q;
    private readonly float[] _scales;
    private readonly sbyte[] _zeroPoints;
    private readonly int[] _shape;

    internal Int8Tensor(int[] shape, int? axis, sbyte[] q, float[] scales, sbyte[] zeroPoints)
    {
        _shape = shape; Axis = axis; _q = q; _scales = scales; _zeroPoints = zeroPoints;
    }

    /// <summary>Tensor shape.</summary>
    public IReadOnlyList<int> Shape => _shape;
    /// <summary>Channel axis, or null for per-tensor quantisation.</summary>
    public int? Axis { get; }
    /// <summary>Quantised values, row-major.</summary>
    public ReadOnlySpan<sbyte> Q => _q;
    /// <summary>Scale per channel.</summary>
    public ReadOnlySpan<float> Scales => _scales;
    /// <summary>Zero point per channel.</summary>
    public ReadOnlySpan<sbyte> ZeroPoints => _zeroPoints;

    /// <summary>Dequantised float32 values (the codec's decode).</summary>
    public float[] Dequantize()
    {
        var layout = CodecParams.ChannelLayout(_shape, Axis);
        var x = new float[_q.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int c = CodecParams.ChannelOf(i, layout);
            x[i] = _scales[c] * (float)(_q[i] - _zeroPoints[c]);
        }
        return x;
    }
}

using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// What a quantised or binary model does to a linear/conv2d node's input before the node computes
/// (graph attrs <c>in_quant_*</c>, <c>in_fixed_*</c>, <c>in_binary*</c>; docs/FORMAT-dsz.md), and for
/// XNOR-Net the rescaling of its output. Per-call values (XNOR's K) live in caller buffers, never here.
/// </summary>
internal abstract class InputTransform
{
    /// <summary>Floats of per-call scale (K) a batch needs; 0 when the output is not rescaled.</summary>
    public virtual int ScaleSize(int batch) => 0;

    /// <summary>dst = the transformed input [batch, ...]; fills <paramref name="scale"/> when <see cref="ScaleSize"/> is not 0.</summary>
    public abstract void Apply(ReadOnlySpan<float> x, Span<float> dst, Span<float> scale, int batch);

    /// <summary>Output rescaling y = (y - bias) K + bias (y K without a bias); none by default.</summary>
    public virtual void Rescale(Span<float> y, ReadOnlySpan<float> bias, ReadOnlySpan<float> scale, int batch) { }

    /// <summary>The transform recorded on a node, or null.</summary>
    /// <param name="n">The linear or conv2d node.</param>
    /// <param name="vector">Reads a per-channel parameter tensor by role.</param>
    /// <param name="channels">Input features (linear) or input channels (conv2d).</param>
    /// <param name="inner">Elements per channel of one input sample (1 for linear, H W for conv2d).</param>
    /// <param name="conv">The convolution's geometry (null for linear).</param>
    public static InputTransform? FromNode(GraphNode n, Func<string, int, float[]> vector, int channels, int inner, ConvGeometry? conv)
    {
        foreach (var key in n.Attrs.Keys)
            if (key.StartsWith("in_", StringComparison.Ordinal) && Array.IndexOf(KnownAttrs, key) < 0)
                throw new InvalidDataException($"unsupported input transform attribute '{key}'");
        foreach (var role in n.Params.Keys)
            if (role is not ("weight" or "bias" or "in_mean" or "in_var"))
                throw new InvalidDataException($"unsupported parameter role '{role}'");
        bool q = n.Attrs.ContainsKey("in_quant_scale"), f = n.Attrs.ContainsKey("in_fixed_word"), b = n.Attrs.ContainsKey("in_binary");
        if ((q ? 1 : 0) + (f ? 1 : 0) + (b ? 1 : 0) > 1) throw new InvalidDataException("more than one kind of input transform");
        if (q)
        {
            float scale = (float)Attr(n, "in_quant_scale");
            int zp = Int(n, "in_quant_zero_point"), min = Int(n, "in_quant_min"), max = Int(n, "in_quant_max");
            if (!(scale > 0f) || float.IsInfinity(scale) || min >= max || zp < min || zp > max)
                throw new InvalidDataException($"invalid input quantisation (scale {scale}, zero point {zp}, codes {min}..{max})");
            return new QuantInput(scale, zp, min, max);
        }
        if (f)
        {
            int word = Int(n, "in_fixed_word"), frac = Int(n, "in_fixed_frac");
            if (word < 2 || word > 32 || frac < -32 || frac > 64) throw new InvalidDataException($"invalid fixed-point input format <{word}, {frac}>");
            return new FixedInput(word, frac);
        }
        if (!b) return null;
        if (Int(n, "in_binary") != 1) throw new InvalidDataException("in_binary must be 1");
        int k = n.Attrs.TryGetValue("in_binary_scale", out _) ? Int(n, "in_binary_scale") : 0;
        if (k is not (0 or 1)) throw new InvalidDataException($"in_binary_scale must be 0 or 1, got {k}");
        float eps = n.Attrs.TryGetValue("in_binary_eps", out var e) && e.Kind == AttrKind.Number ? (float)e.AsNumber() : 1e-5f;
        if (!(eps >= 0f)) throw new InvalidDataException($"in_binary_eps must be >= 0, got {eps}");
        if (k == 1 && conv is { } g && (g.DH != 1 || g.DW != 1 || g.Groups != 1))
            throw new InvalidDataException("XNOR scaling (in_binary_scale 1) of dilated or grouped convolutions is not supported");
        return new BinaryInput(vector("in_mean", channels), vector("in_var", channels), eps, inner, k == 1 ? (conv ?? default(ConvGeometry?)) : null, k == 1);
    }

    private static readonly string[] KnownAttrs =
        ["in_quant_scale", "in_quant_zero_point", "in_quant_min", "in_quant_max", "in_fixed_word", "in_fixed_frac", "in_binary", "in_binary_scale", "in_binary_eps"];

    private static double Attr(GraphNode n, string key) =>
        n.Attrs.TryGetValue(key, out var v) && v.Kind == AttrKind.Number && double.IsFinite(v.AsNumber()) ? v.AsNumber() : throw new InvalidDataException($"missing or non-finite attribute '{key}'");

    private static int Int(GraphNode n, string key)
    {
        double v = Attr(n, key);
        if (v != Math.Floor(v) || v < int.MinValue || v > int.MaxValue) throw new InvalidDataException($"attribute '{key}' = {v} is not an integer");
        return (int)v;
    }
}

/// <summary>Affine input quantisation: x -> s (clamp(round_even(x / s) + zp, min, max) - zp), as <see cref="Ops.FakeQuantize"/>.</summary>
internal sealed class QuantInput(float scale, int zeroPoint, int min, int max) : InputTransform
{
    /// <summary>Input scale s.</summary>
    public float Scale => scale;
    /// <summary>Input zero point.</summary>
    public int ZeroPoint => zeroPoint;
    /// <summary>Smallest code.</summary>
    public int Min => min;
    /// <summary>Largest code.</summary>
    public int Max => max;

    public override void Apply(ReadOnlySpan<float> x, Span<float> dst, Span<float> scaleOut, int batch)
    {
        for (int i = 0; i < x.Length; i++)
            dst[i] = Ops.DequantizeValue(Ops.QuantizeValue(x[i], scale, zeroPoint, min, max), scale, zeroPoint);
    }
}

/// <summary>Fixed-point input &lt;word, frac&gt;: round to nearest (ties up), saturating, as <see cref="Ops.RoundFixedSpan"/>.</summary>
internal sealed class FixedInput(int word, int frac) : InputTransform
{
    public override void Apply(ReadOnlySpan<float> x, Span<float> dst, Span<float> scale, int batch) => Ops.RoundFixedSpan(x, dst, word, frac, null);
}

/// <summary>A node's input after its <see cref="InputTransform"/> (pooled buffers, returned on dispose).</summary>
internal ref struct TransformedInput
{
    private float[]? _x, _scale;

    /// <summary>The input to compute on.</summary>
    public ReadOnlySpan<float> X { get; private set; }
    /// <summary>Per-call output scale (empty without XNOR scaling).</summary>
    public ReadOnlySpan<float> Scale { get; private set; }

    /// <summary>Applies <paramref name="t"/> (or passes <paramref name="x"/> through when null).</summary>
    public static TransformedInput Create(InputTransform? t, ReadOnlySpan<float> x, int batch)
    {
        var r = new TransformedInput { X = x };
        if (t is null) return r;
        int k = t.ScaleSize(batch);
        r._x = System.Buffers.ArrayPool<float>.Shared.Rent(Math.Max(1, x.Length));
        r._scale = System.Buffers.ArrayPool<float>.Shared.Rent(Math.Max(1, k));
        t.Apply(x, r._x.AsSpan(0, x.Length), r._scale.AsSpan(0, k), batch);
        r.X = r._x.AsSpan(0, x.Length);
        r.Scale = r._scale.AsSpan(0, k);
        return r;
    }

    /// <summary>Returns the buffers.</summary>
    public void Dispose()
    {
        if (_x is not null) System.Buffers.ArrayPool<float>.Shared.Return(_x);
        if (_scale is not null) System.Buffers.ArrayPool<float>.Shared.Return(_scale);
        _x = _scale = null;
    }
}

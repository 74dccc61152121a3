using DeepShrink.Core.Graph;
using Google.Protobuf;
using Onnx;
using static DeepShrink.Onnx.OnnxProto;

namespace DeepShrink.Onnx;

/// <summary>Input transforms of quantised and binary models (graph attrs <c>in_*</c>, docs/FORMAT-dsz.md) as ONNX ops.</summary>
internal sealed partial class OnnxNodeWriter
{
    /// <summary>A convolution's window (for XNOR-Net's K).</summary>
    private readonly record struct Window(long KH, long KW, long SH, long SW, long PH, long PW);

    /// <summary>Parameter roles consumed by the transforms (written as derived constants, not as initializers).</summary>
    public static bool IsTransformParam(string role) => role is "in_mean" or "in_var";

    private static readonly string[] KnownAttrs =
        ["in_quant_scale", "in_quant_zero_point", "in_quant_min", "in_quant_max", "in_fixed_word", "in_fixed_frac", "in_binary", "in_binary_scale", "in_binary_eps"];

    /// <summary>The transformed input of a linear/conv2d node, and the name of XNOR's K when the output is rescaled.</summary>
    private (string X, string? K) Transform(GraphNode n, string x, Window? conv)
    {
        foreach (var key in n.Attrs.Keys)
            if (key.StartsWith("in_", StringComparison.Ordinal) && Array.IndexOf(KnownAttrs, key) < 0)
                throw new NotSupportedException($"cannot export node '{n.Name}' to ONNX: input transform attribute '{key}' is not supported");
        if (n.Attrs.ContainsKey("in_quant_scale")) return (Quantize(n, x), null);
        if (n.Attrs.ContainsKey("in_fixed_word")) return (Fixed(n, x), null);
        if (n.Attrs.ContainsKey("in_binary")) return Binary(n, x, conv);
        return (x, null);
    }

    /// <summary>
    /// QuantizeLinear + DequantizeLinear (round half to even, saturate) on uint8 codes, preceded by a Clip
    /// for a code range narrower than the type's.
    /// </summary>
    /// <remarks>
    /// Signed codes q in [min, max] with zero point z are written as u = q + 128 with zero point z + 128:
    /// clamp(round(x / s) + z + 128, 0, 255) = clamp(round(x / s) + z, -128, 127) + 128, the same quantiser, in the
    /// u8-activation x s8-weight form ONNX Runtime's x86 integer kernels prefer. The Clip sits before the
    /// QuantizeLinear so that DequantizeLinear feeds the Gemm/Conv directly (the QDQ pattern ONNX Runtime fuses);
    /// clipping x to s (min - z) .. s (max - z) first rounds to the same codes as clamping the codes.
    /// </remarks>
    private string Quantize(GraphNode n, string x)
    {
        float s = n.Float("in_quant_scale", 0f);
        int zp = n.Int("in_quant_zero_point", 0), min = n.Int("in_quant_min", -128), max = n.Int("in_quant_max", 127);
        int shift = min >= -128 && max <= 127 ? 128 : min >= 0 && max <= 255 ? 0
            : throw new NotSupportedException($"cannot export node '{n.Name}' to ONNX: input codes {min}..{max} fit neither int8 nor uint8");
        if (min + shift > 0 || max + shift < 255)
            x = Emit("Clip", n.Name + ".in_clip", x, Const(n.Name + ".in_lo", s * (float)(min - zp)), Const(n.Name + ".in_hi", s * (float)(max - zp)));
        var scale = Const(n.Name + ".in_scale", s);
        var zero = Fresh(n.Name + ".in_zero_point");
        g.Initializer.Add(ByteTensor(zero, TensorProto.Types.DataType.Uint8, [], [(byte)(zp + shift)]));
        var q = Emit("QuantizeLinear", n.Name + ".in_quantize", x, scale, zero);
        return Emit("DequantizeLinear", n.Name + ".in_dequantize", q, scale, zero);
    }

    /// <summary>Round to a multiple of 2^-FL (ties up), saturating: Mul, Add 0.5, Floor, Clip, Mul.</summary>
    private string Fixed(GraphNode n, string x)
    {
        int word = n.Int("in_fixed_word", 16), frac = n.Int("in_fixed_frac", 8);
        if (word < 2 || word > 25 || frac < -100 || frac > 100)
            throw new NotSupportedException($"cannot export node '{n.Name}' to ONNX: fixed-point input <{word}, {frac}> is outside what float32 ops reproduce exactly");
        var v = Emit("Mul", n.Name + ".in_scale_up", x, Const(n.Name + ".in_two_pow_frac", MathF.ScaleB(1f, frac)));
        v = Emit("Floor", n.Name + ".in_floor", Emit("Add", n.Name + ".in_half", v, Const(n.Name + ".in_0.5", 0.5f)));
        v = Emit("Clip", n.Name + ".in_saturate", v, Const(n.Name + ".in_min", -MathF.ScaleB(1f, word - 1)), Const(n.Name + ".in_max", MathF.ScaleB(1f, word - 1) - 1));
        return Emit("Mul", n.Name + ".in_scale_down", v, Const(n.Name + ".in_two_pow_neg_frac", MathF.ScaleB(1f, -frac)));
    }

    /// <summary>xh = (x - mean) / sqrt(var + eps) per channel; b = xh &lt; 0 ? -1 : 1; K from |xh| when XNOR-scaled.</summary>
    private (string X, string? K) Binary(GraphNode n, string x, Window? conv)
    {
        var mean = tensors[n.Params["in_mean"]].ContiguousData().Span;
        var variance = tensors[n.Params["in_var"]].ContiguousData().Span;
        float eps = n.Float("in_binary_eps", 1e-5f);
        int c = mean.Length;
        var shift = new float[c];
        var mul = new float[c];
        for (int i = 0; i < c; i++) { mul[i] = 1f / MathF.Sqrt(variance[i] + eps); shift[i] = -mean[i]; }
        int[] shape = conv is null ? [c] : [c, 1, 1];
        var xh = Emit("Mul", n.Name + ".in_standardize", Emit("Add", n.Name + ".in_center", x, Vector(n.Name + ".in_shift", shape, shift)), Vector(n.Name + ".in_mul", shape, mul));
        var neg = Emit("Less", n.Name + ".in_negative", xh, Const(n.Name + ".in_zero", 0f));
        var b = Emit("Where", n.Name + ".in_sign", neg, Const(n.Name + ".in_minus_one", -1f), Const(n.Name + ".in_one", 1f));
        if (n.Int("in_binary_scale", 0) != 1) return (b, null);
        var a = Emit("Abs", n.Name + ".in_abs", xh);
        var mean1 = Fresh(n.Name + ".in_mean_abs");
        g.Node.Add(Node("ReduceMean", mean1, [a], mean1, Ints("axes", 1), Int("keepdims", 1)));
        if (conv is not Window w) return (b, mean1);
        var k = Fresh(n.Name + ".in_k");
        g.Node.Add(Node("AveragePool", k, [mean1], k, Ints("kernel_shape", w.KH, w.KW), Ints("strides", w.SH, w.SW),
            Ints("pads", w.PH, w.PW, w.PH, w.PW), Int("count_include_pad", 1)));
        return (b, k);
    }

    /// <summary>XNOR output: (y - bias) K + bias, or y K without a bias.</summary>
    private void Rescale(GraphNode n, string y, string k, string output, bool conv)
    {
        if (!n.Params.TryGetValue("bias", out var biasName))
        {
            g.Node.Add(Node("Mul", n.Name + ".xnor_scale", [y, k], output));
            return;
        }
        var bias = biasName;
        if (conv)
        {
            var t = tensors[biasName].ContiguousData();
            bias = Vector(n.Name + ".bias_chw", [t.Size, 1, 1], t.Span.ToArray());
        }
        var scaled = Emit("Mul", n.Name + ".xnor_scale", Emit("Sub", n.Name + ".xnor_unbias", y, bias), k);
        g.Node.Add(Node("Add", n.Name + ".xnor_rebias", [scaled, bias], output));
    }

    private string Emit(string op, string stem, params string[] inputs)
    {
        var o = Fresh(stem);
        g.Node.Add(Node(op, o, inputs, o));
        return o;
    }

    private string Const(string stem, float v)
    {
        var c = Fresh(stem);
        g.Initializer.Add(FloatTensor(c, [], [v]));
        return c;
    }

    private string Vector(string stem, int[] shape, float[] v)
    {
        var c = Fresh(stem);
        g.Initializer.Add(FloatTensor(c, shape, v));
        return c;
    }
}

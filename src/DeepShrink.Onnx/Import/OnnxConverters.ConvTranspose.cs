using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Onnx.Import;

internal static partial class OnnxConverters
{
    /// <summary>
    /// ConvTranspose (2-D, opsets 1 and 11): weight [C, O/group, kh, kw] (kernel_shape, when given, must equal
    /// the weight's) and optional bias [O] constants; strides, dilations, group, output_padding and per-side
    /// pads become a <c>conv_transpose2d</c> node. Padding comes from <c>output_shape</c> when given (total
    /// padding stride (in - 1) + output_padding + dilation (k - 1) + 1 - output_shape, split as the ONNX
    /// formula and ONNX Runtime do: the odd unit at the end for SAME_UPPER, at the start otherwise), else from
    /// <c>auto_pad</c> (SAME_*: output = input stride; VALID: none) or explicit <c>pads</c>. Refused: a negative
    /// total padding, output_padding not below the stride (ONNX Runtime refuses it too), other ranks.
    /// </summary>
    private static void ConvTranspose(NodeView n, ImportContext c)
    {
        var x = n.Rt(0);
        var w = n.Const(1, "weight");
        if (w.Shape.Length != 4 || x.Shape.Length != 3) throw n.Fail($"only 2-D transposed convolutions are supported (input {Full(x)}, weight {ShapeUtil.Format(w.Shape)})");
        int group = Positive(n, "group", n.Int("group", 1));
        if (w.Shape[0] != x.Shape[0] || x.Shape[0] % group != 0)
            throw n.Fail($"weight {ShapeUtil.Format(w.Shape)} with group {group} does not fit input {Full(x)} (expected [{x.Shape[0]}, O/group, kh, kw])");
        int[] k = [w.Shape[2], w.Shape[3]];
        CheckKernel(n, k);
        int[] s = Pair(n, "strides"), d = Pair(n, "dilations");
        var op = n.Ints("output_padding") ?? new long[2];
        if (op.Length != 2) throw n.Fail($"output_padding has {op.Length} values, expected 2");
        if (op.Any(v => v < 0 || v > 65536)) throw n.Fail($"output_padding [{string.Join(", ", op)}] must be in 0..65536");
        int[] adj = [(int)op[0], (int)op[1]];
        if (adj[0] >= s[0] || adj[1] >= s[1])
            throw n.Fail($"output_padding [{adj[0]}, {adj[1]}] must be below the strides [{s[0]}, {s[1]}]");
        var (begin, end) = TransposePads(n, x, k, s, d, adj);
        int o = w.Shape[1] * group;
        var parameters = new Dictionary<string, Tensor> { ["weight"] = w.ToTensor(w.Shape) };
        var b = n.OptConst(2, "bias");
        if (b is not null)
        {
            if (b.Data.Length != o) throw n.Fail($"bias has {b.Data.Length} values, the output has {o} channels");
            parameters["bias"] = b.ToTensor([o]);
        }
        var a = new ConvTransposeAttrs(s[0], s[1], begin[0], begin[1], end[0], end[1], d[0], d[1], adj[0], adj[1], group);
        if (a.OutH(x.Shape[1], k[0]) < 1 || a.OutW(x.Shape[2], k[1]) < 1)
            throw n.Fail($"pads [{begin[0]}, {begin[1]}, {end[0]}, {end[1]}] leave no output for input {Full(x)}");
        c.Emit(n.Name, "conv_transpose2d", [x], n.Output(), parameters, a.ToAttrs());
    }

    /// <summary>Per-axis leading and trailing pads of a ConvTranspose from output_shape, auto_pad or pads.</summary>
    private static (int[] Begin, int[] End) TransposePads(NodeView n, ImportContext.Value x, int[] k, int[] s, int[] d, int[] adj)
    {
        string auto = n.Str("auto_pad", "NOTSET");
        if (auto is not ("NOTSET" or "" or "VALID" or "SAME_UPPER" or "SAME_LOWER"))
            throw n.Fail($"auto_pad '{auto}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
        var outShape = n.Ints("output_shape");
        if (outShape is not null && outShape.Length != 2)
            throw n.Fail($"output_shape has {outShape.Length} values, expected 2 (the spatial sizes)");
        var begin = new int[2];
        var end = new int[2];
        if (outShape is not null || auto is "SAME_UPPER" or "SAME_LOWER")
        {
            for (int i = 0; i < 2; i++)
            {
                long input = x.Shape[i + 1];
                long target = outShape is not null ? outShape[i] : input * s[i];
                if (target < 1 || target > 1 << 24) throw n.Fail($"output size {target} on axis {i + 2} must be in 1..{1 << 24}");
                long total = s[i] * (input - 1) + adj[i] + (long)d[i] * (k[i] - 1) + 1 - target;
                if (total < 0)
                    throw n.Fail($"output size {target} on axis {i + 2} exceeds the full output of {target + total}; only output sizes reached by cropping are supported");
                long small = total / 2;
                (begin[i], end[i]) = auto == "SAME_UPPER" ? ((int)small, (int)(total - small)) : ((int)(total - small), (int)small);
            }
            return (begin, end);
        }
        if (auto == "VALID") return (begin, end);
        var p = n.Ints("pads") ?? new long[4];
        if (p.Length != 4) throw n.Fail($"pads has {p.Length} values, expected 4");
        if (p.Any(v => v < 0 || v > 65536)) throw n.Fail($"pads [{string.Join(", ", p)}] must be in 0..65536");
        return ([(int)p[0], (int)p[1]], [(int)p[2], (int)p[3]]);
    }
}

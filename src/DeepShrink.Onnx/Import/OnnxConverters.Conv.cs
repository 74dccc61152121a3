using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Onnx.Import;

internal static partial class OnnxConverters
{
    /// <summary>Per spatial axis: the symmetric pad the graph node takes and the extra padding a <c>pad</c> node adds in front.</summary>
    private readonly record struct AxisPad(int Sym, int Before, int After);

    /// <summary>
    /// Conv (2-D): weight [O, C/group, kh, kw] and optional bias [O] constants; strides, dilations, group,
    /// explicit or <c>auto_pad</c> padding. Asymmetric pads become a zero <c>pad</c> node in front unless the
    /// larger leading pad can be used on both sides without changing the output size (the extra trailing
    /// padding is then never read, as in CNTK's ResNet18 stem: pads [3, 3, 2, 2] at stride 2).
    /// </summary>
    private static void Conv(NodeView n, ImportContext c)
    {
        var x = n.Rt(0);
        var w = n.Const(1, "weight");
        if (w.Shape.Length != 4 || x.Shape.Length != 3) throw n.Fail($"only 2-D convolutions are supported (input {Full(x)}, weight {ShapeUtil.Format(w.Shape)})");
        int group = Positive(n, "group", n.Int("group", 1));
        int[] k = [w.Shape[2], w.Shape[3]];
        CheckKernel(n, k);
        int[] s = Pair(n, "strides"), d = Pair(n, "dilations");
        var pads = ResolvePads(n, x, k, s, d, ceil: false);
        var parameters = new Dictionary<string, Tensor> { ["weight"] = w.ToTensor(w.Shape) };
        var b = n.OptConst(2, "bias");
        if (b is not null)
        {
            if (b.Data.Length != w.Shape[0]) throw n.Fail($"bias has {b.Data.Length} values, weight has {w.Shape[0]} output channels");
            parameters["bias"] = b.ToTensor([w.Shape[0]]);
        }
        var input = PadInFront(n, c, x, pads, 0);
        var attrs = new ConvAttrs(s[0], s[1], pads[0].Sym, pads[1].Sym, d[0], d[1], group).ToAttrs();
        c.Emit(n.Name, "conv2d", [input], n.Output(), parameters, attrs);
    }

    private static void MaxPool(NodeView n, ImportContext c) => Pool(n, c, average: false);

    private static void AveragePool(NodeView n, ImportContext c) => Pool(n, c, average: true);

    /// <summary>
    /// MaxPool / AveragePool (2-D). <c>ceil_mode</c> = 1 is accepted only where it yields the floor-mode
    /// shape; dilations must be 1; AveragePool keeps <c>count_include_pad</c> (default 0). Asymmetric pads:
    /// as for Conv; otherwise a <c>pad</c> node in front, with the lowest float for max pooling (no window is
    /// all padding because pads are below the kernel) and zeros for average pooling with
    /// <c>count_include_pad</c> = 1 (exact); with <c>count_include_pad</c> = 0 that is refused.
    /// </summary>
    private static void Pool(NodeView n, ImportContext c, bool average)
    {
        n.OnlyFirstOutputUsed();
        var x = n.Rt(0);
        if (x.Shape.Length != 3) throw n.Fail($"only 2-D pooling is supported (input {Full(x)})");
        var kl = n.Ints("kernel_shape") ?? throw n.Fail("attribute 'kernel_shape' is required");
        if (kl.Length != 2) throw n.Fail($"kernel_shape has {kl.Length} values, expected 2");
        int[] k = [Positive(n, "kernel_shape", kl[0]), Positive(n, "kernel_shape", kl[1])];
        int[] s = Pair(n, "strides"), d = Pair(n, "dilations");
        if (d[0] != 1 || d[1] != 1) throw n.Fail("dilated pooling is not supported");
        bool ceil = n.Int("ceil_mode", 0) != 0;
        var pads = ResolvePads(n, x, k, s, d, ceil);
        bool includePad = average && n.Int("count_include_pad", 0) != 0;
        bool anyPad = pads.Any(p => p.Sym + p.Before + p.After > 0);
        if (average && c.Options.GlobalPoolFullWindowAverage && !anyPad && k[0] == x.Shape[1] && k[1] == x.Shape[2])
        {
            c.Emit(n.Name, "global_avgpool2d", [x], n.Output());
            return;
        }
        for (int i = 0; i < 2; i++)
            if (pads[i].Sym + Math.Max(pads[i].Before, pads[i].After) >= k[i])
                throw n.Fail($"pads must be smaller than the kernel ({k[0]}x{k[1]})");
        bool extra = pads.Any(p => p.Before + p.After > 0);
        if (extra && average && !includePad)
            throw n.Fail("asymmetric padding with count_include_pad=0 cannot be expressed with symmetric graph pads");
        var input = PadInFront(n, c, x, pads, average ? 0 : float.MinValue);
        var attrs = new PoolAttrs(k[0], k[1], s[0], s[1], pads[0].Sym, pads[1].Sym, includePad || !anyPad).ToAttrs(average);
        c.Emit(n.Name, average ? "avgpool2d" : "maxpool2d", [input], n.Output(), attrs: attrs);
    }

    private static void GlobalAveragePool(NodeView n, ImportContext c)
    {
        var x = n.Rt(0);
        if (x.Shape.Length != 3) throw n.Fail($"only 2-D global pooling is supported (input {Full(x)})");
        c.Emit(n.Name, "global_avgpool2d", [x], n.Output());
    }

    /// <summary>
    /// BatchNormalization in inference form: scale, bias, mean and variance constants with one value per
    /// channel. Old opsets' <c>spatial</c> = 0 (per-activation statistics) is accepted only when the
    /// statistics still have one value per channel; <c>training_mode</c> must be 0.
    /// </summary>
    private static void BatchNorm(NodeView n, ImportContext c)
    {
        n.OnlyFirstOutputUsed();
        if (n.Int("training_mode", 0) != 0) throw n.Fail("training_mode=1 is not an inference model");
        var x = n.Rt(0);
        if (x.Shape.Length < 1) throw n.Fail($"input {Full(x)} has no channel axis");
        int ch = x.Shape[0];
        string[] roles = ["weight", "bias", "running_mean", "running_var"];
        var p = new Dictionary<string, Tensor>();
        for (int i = 0; i < 4; i++)
        {
            var v = n.Const(i + 1, roles[i]);
            if (v.Data.Length != ch)
                throw n.Fail(n.Opset < 9 && n.Int("spatial", 1) == 0
                    ? $"spatial=0 with per-activation statistics ({v.Data.Length} values) is not supported"
                    : $"{roles[i]} has {v.Data.Length} values, the input has {ch} channels");
            p[roles[i]] = v.ToTensor([ch]);
        }
        float eps = n.Float("epsilon", 1e-5f);
        if (!(eps >= 0) || !float.IsFinite(eps)) throw n.Fail($"epsilon {eps} must be finite and >= 0");
        c.Emit(n.Name, "batchnorm", [x], n.Output(), p, new Dictionary<string, AttrValue> { ["eps"] = eps });
    }

    /// <summary>Explicit pads ([h_begin, w_begin, h_end, w_end]) or auto_pad, split into symmetric graph pads and a pad node.</summary>
    private static AxisPad[] ResolvePads(NodeView n, ImportContext.Value x, int[] k, int[] s, int[] d, bool ceil)
    {
        string auto = n.Str("auto_pad", "NOTSET");
        var begin = new int[2];
        var end = new int[2];
        switch (auto)
        {
            case "NOTSET" or "":
                var p = n.Ints("pads") ?? new long[4];
                if (p.Length != 4) throw n.Fail($"pads has {p.Length} values, expected 4");
                if (p.Any(v => v < 0 || v > 65536)) throw n.Fail($"pads [{string.Join(", ", p)}] must be in 0..65536");
                begin = [(int)p[0], (int)p[1]]; end = [(int)p[2], (int)p[3]];
                break;
            case "VALID": break;
            case "SAME_UPPER" or "SAME_LOWER":
                for (int i = 0; i < 2; i++)
                {
                    int input = x.Shape[i + 1], outSize = (input + s[i] - 1) / s[i];
                    int total = Math.Max(0, (outSize - 1) * s[i] + (k[i] - 1) * d[i] + 1 - input);
                    int small = total / 2;
                    (begin[i], end[i]) = auto == "SAME_UPPER" ? (small, total - small) : (total - small, small);
                }
                break;
            default: throw n.Fail($"auto_pad '{auto}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
        }
        var r = new AxisPad[2];
        for (int i = 0; i < 2; i++)
        {
            int input = x.Shape[i + 1], keff = (k[i] - 1) * d[i] + 1;
            int span = input + begin[i] + end[i] - keff;
            if (span < 0) throw n.Fail($"input {Full(x)} is smaller than the {k[0]}x{k[1]} window with its padding");
            int floorOut = span / s[i] + 1;
            if (ceil)
            {
                int ceilOut = (span + s[i] - 1) / s[i] + 1;
                if ((ceilOut - 1) * s[i] >= input + begin[i]) ceilOut--;
                if (ceilOut != floorOut)
                    throw n.Fail($"ceil_mode=1 gives {ceilOut} outputs on axis {i + 2} where floor mode gives {floorOut}; only shape-neutral ceil_mode is supported");
            }
            if (begin[i] == end[i]) r[i] = new AxisPad(begin[i], 0, 0);
            else if (begin[i] > end[i] && (input + 2 * begin[i] - keff) / s[i] + 1 == floorOut) r[i] = new AxisPad(begin[i], 0, 0);
            else
            {
                int sym = Math.Min(begin[i], end[i]);
                r[i] = new AxisPad(sym, begin[i] - sym, end[i] - sym);
            }
        }
        return r;
    }

    /// <summary>Adds a constant <c>pad</c> node for the asymmetric part of the padding, if any.</summary>
    private static ImportContext.Value PadInFront(NodeView n, ImportContext c, ImportContext.Value x, AxisPad[] pads, float value)
    {
        if (pads.All(p => p.Before == 0 && p.After == 0)) return x;
        var attrs = new Dictionary<string, AttrValue> { ["pads"] = new[] { pads[0].Before, pads[1].Before, pads[0].After, pads[1].After } };
        if (value != 0) attrs["value"] = value;
        return c.Emit(c.UniqueName(n.Name + "_pad", "", 0), "pad", [x], null, attrs: attrs);
    }

    private static int[] Pair(NodeView n, string attr)
    {
        var v = n.Ints(attr);
        if (v is null) return [1, 1];
        if (v.Length != 2) throw n.Fail($"{attr} has {v.Length} values, expected 2");
        return [Positive(n, attr, v[0]), Positive(n, attr, v[1])];
    }

    private static int Positive(NodeView n, string attr, long v)
        => v >= 1 && v <= 65536 ? (int)v : throw n.Fail($"{attr} value {v} must be in 1..65536");

    private static void CheckKernel(NodeView n, int[] k)
    {
        var ks = n.Ints("kernel_shape");
        if (ks is not null && (ks.Length != 2 || ks[0] != k[0] || ks[1] != k[1]))
            throw n.Fail($"kernel_shape [{string.Join(", ", ks)}] differs from the weight's {k[0]}x{k[1]}");
    }
}

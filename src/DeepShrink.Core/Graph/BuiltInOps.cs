namespace DeepShrink.Core.Graph;

/// <summary>Schemas of the built-in ops (see <see cref="OpSchemas"/>).</summary>
internal static class BuiltInOps
{
    private static readonly string[] s_transformParams = ["in_mean", "in_var"];

    public static IEnumerable<OpSchema> All()
    {
        yield return new OpSchema
        {
            Name = "linear", Doc = "y = x W^T + b; weight [out, in]", RequiredParams = ["weight"], OptionalParams = ["bias", .. s_transformParams],
            InferShapes = c =>
            {
                var w = c.Param("weight");
                if (w.Length != 2 || c.X.Length != 1 || c.X[0] != w[1])
                    throw new FormatException($"node '{c.Node.Name}' (linear): weight {ShapeUtil.Format(w)} needs input [{(w.Length == 2 ? w[1] : 0)}], got {ShapeUtil.Format(c.X)}");
                CheckVector(c, "bias", w[0]);
                return [[w[0]]];
            },
            Macs = (c, _) => (long)c.Param("weight")[0] * c.Param("weight")[1],
        };
        yield return new OpSchema
        {
            Name = "conv2d", Doc = "2-D convolution, NCHW; weight [O, C/groups, kh, kw]", RequiredParams = ["weight"], OptionalParams = ["bias", .. s_transformParams],
            AttrDocs = new Dictionary<string, string> { ["stride_h"] = "1", ["stride_w"] = "1", ["pad_h"] = "0", ["pad_w"] = "0", ["dilation_h"] = "1", ["dilation_w"] = "1", ["groups"] = "1" },
            InferShapes = c =>
            {
                var w = c.Param("weight");
                var a = ConvAttrs.Of(c.Node);
                if (w.Length != 4 || c.X.Length != 3 || c.X[0] != w[1] * a.Groups || w[0] % a.Groups != 0)
                    throw new FormatException($"node '{c.Node.Name}' (conv2d): weight {ShapeUtil.Format(w)} with groups {a.Groups} does not fit input {ShapeUtil.Format(c.X)}");
                int oh = ConvAttrs.OutSize(c.X[1], w[2], a.StrideH, a.PadH, a.DilationH), ow = ConvAttrs.OutSize(c.X[2], w[3], a.StrideW, a.PadW, a.DilationW);
                if (oh < 1 || ow < 1) throw new FormatException($"node '{c.Node.Name}' (conv2d): input {ShapeUtil.Format(c.X)} is smaller than the kernel");
                CheckVector(c, "bias", w[0]);
                return [[w[0], oh, ow]];
            },
            Macs = (c, o) => { var w = c.Param("weight"); return (long)o[0][0] * o[0][1] * o[0][2] * w[1] * w[2] * w[3]; },
        };
        yield return new OpSchema
        {
            Name = "conv_transpose2d", Doc = "2-D transposed convolution (ONNX ConvTranspose), NCHW; weight [C, O/groups, kh, kw]",
            RequiredParams = ["weight"], OptionalParams = ["bias"],
            AttrDocs = new Dictionary<string, string>
            {
                ["stride_h"] = "1", ["stride_w"] = "1", ["pad_top"] = "0", ["pad_left"] = "0", ["pad_bottom"] = "0", ["pad_right"] = "0",
                ["dilation_h"] = "1", ["dilation_w"] = "1", ["out_pad_h"] = "0", ["out_pad_w"] = "0", ["groups"] = "1",
            },
            InferShapes = c =>
            {
                var w = c.Param("weight");
                var a = ConvTransposeAttrs.Of(c.Node);
                if (w.Length != 4 || c.X.Length != 3 || c.X[0] != w[0] || w[0] % a.Groups != 0)
                    throw new FormatException($"node '{c.Node.Name}' (conv_transpose2d): weight {ShapeUtil.Format(w)} with groups {a.Groups} does not fit input {ShapeUtil.Format(c.X)}");
                long oh = a.OutH(c.X[1], w[2]), ow = a.OutW(c.X[2], w[3]);
                long fh = oh + a.PadTop + a.PadBottom - a.OutPadH, fw = ow + a.PadLeft + a.PadRight - a.OutPadW, o = (long)w[1] * a.Groups;
                if (oh < 1 || ow < 1 || (double)o * Math.Max(oh, fh) * Math.Max(ow, fw) > Kernels.ConvTransposeGeometry.MaxFullElements)
                    throw new FormatException($"node '{c.Node.Name}' (conv_transpose2d): input {ShapeUtil.Format(c.X)} gives an output of {o}x{oh}x{ow} (full {o}x{fh}x{fw}): pads leave nothing or it exceeds {Kernels.ConvTransposeGeometry.MaxFullElements} elements");
                CheckVector(c, "bias", w[1] * a.Groups);
                return [[w[1] * a.Groups, (int)oh, (int)ow]];
            },
            Macs = (c, _) => { var w = c.Param("weight"); return (long)c.X[0] * c.X[1] * c.X[2] * w[1] * w[2] * w[3]; },
        };
        yield return new OpSchema
        {
            Name = "batchnorm", Doc = "inference-time batch normalisation over axis 1", RequiredParams = ["weight", "bias", "running_mean", "running_var"],
            AttrDocs = new Dictionary<string, string> { ["eps"] = "1e-5" },
            InferShapes = c =>
            {
                if (c.X.Length < 1) throw new FormatException($"node '{c.Node.Name}' (batchnorm): input must have a channel axis");
                foreach (var r in new[] { "weight", "bias", "running_mean", "running_var" }) CheckVector(c, r, c.X[0]);
                return [c.X];
            },
        };
        foreach (var (name, doc, attrs) in new (string, string, Dictionary<string, string>)[]
        {
            ("relu", "max(x, 0)", new()), ("leaky_relu", "x or slope x", new() { ["slope"] = "0.01" }),
            ("tanh", "tanh", new()), ("sigmoid", "logistic", new()), ("gelu", "tanh-form GELU", new()),
            ("clip", "min(max(x, min), max) (absent bound: none)", new() { ["min"] = "none", ["max"] = "none" }),
            ("hard_sigmoid", "max(0, min(1, alpha x + beta))", new() { ["alpha"] = "0.2", ["beta"] = "0.5" }),
            ("hard_swish", "x hard_sigmoid(x) with alpha 1/6, beta 0.5", new()),
            ("identity", "x", new()),
        })
            yield return new OpSchema { Name = name, Doc = doc, AttrDocs = attrs, Elementwise = true, InferShapes = c => [c.X] };
        yield return new OpSchema
        {
            Name = "softmax", Doc = "softmax along an axis (full-tensor numbering, default -1)", AttrDocs = new Dictionary<string, string> { ["axis"] = "-1" },
            InferShapes = c => { OpSchemas.SampleAxis(c.Node, c.Node.Int("axis", -1), c.X.Length); return [c.X]; },
        };
        foreach (var op in new[] { "maxpool2d", "avgpool2d" })
            yield return new OpSchema
            {
                Name = op, Doc = "2-D pooling window", AttrDocs = new Dictionary<string, string> { ["kernel_h|kernel"] = "2", ["stride_h|stride"] = "kernel", ["pad_h|pad"] = "0", ["count_include_pad"] = "1" },
                InferShapes = c =>
                {
                    var a = PoolAttrs.Of(c.Node);
                    Rank(c, 3);
                    int oh = (c.X[1] + 2 * a.PadH - a.KernelH) / a.StrideH + 1, ow = (c.X[2] + 2 * a.PadW - a.KernelW) / a.StrideW + 1;
                    if (c.X[1] + 2 * a.PadH < a.KernelH || c.X[2] + 2 * a.PadW < a.KernelW)
                        throw new FormatException($"node '{c.Node.Name}' ({op}): input {ShapeUtil.Format(c.X)} is smaller than the {a.KernelH}x{a.KernelW} window");
                    return [[c.X[0], oh, ow]];
                },
            };
        yield return new OpSchema { Name = "global_avgpool2d", Doc = "mean over H and W", InferShapes = c => { Rank(c, 3); return [[c.X[0], 1, 1]]; } };
        yield return new OpSchema
        {
            Name = "flatten", Doc = "merges the axes from start_axis (full-tensor numbering, default 1) on", AttrDocs = new Dictionary<string, string> { ["start_axis"] = "1" },
            InferShapes = c =>
            {
                int start = c.Node.Int("start_axis", 1);
                if (start < 1 || start > c.X.Length) throw new FormatException($"node '{c.Node.Name}' (flatten): start_axis {start} outside 1..{c.X.Length}");
                return [[.. c.X[..(start - 1)], ShapeUtil.Numel(c.X.AsSpan(start - 1))]];
            },
        };
        yield return new OpSchema
        {
            Name = "reshape", Doc = "per-sample target shape (0 copies the input axis, one -1 is inferred)", AttrDocs = new Dictionary<string, string> { ["shape"] = "required" },
            InferShapes = c => [ReshapeTarget(c.Node, c.X)],
        };
        yield return new OpSchema
        {
            Name = "concat", Doc = "concatenation along an axis (full-tensor numbering, default 1)", MinInputs = 1, MaxInputs = 256, AttrDocs = new Dictionary<string, string> { ["axis"] = "1" },
            InferShapes = c =>
            {
                int ax = OpSchemas.SampleAxis(c.Node, c.Node.Int("axis", 1), c.X.Length);
                var o = c.X.ToArray();
                for (int i = 1; i < c.Inputs.Count; i++)
                {
                    var s = c.Inputs[i];
                    if (s.Length != o.Length || Enumerable.Range(0, o.Length).Any(d => d != ax && s[d] != o[d]))
                        throw new FormatException($"node '{c.Node.Name}' (concat): input shapes {string.Join(" and ", c.Inputs.Select(s => ShapeUtil.Format(s)))} differ off axis {ax + 1}");
                    o[ax] += s[ax];
                }
                return [o];
            },
        };
        foreach (var op in new[] { "add", "sub", "mul", "div" })
            yield return new OpSchema
            {
                Name = op, Doc = "element-wise with broadcasting; the second operand is the second input or the constant parameter 'b'",
                MinInputs = 1, MaxInputs = 2, OptionalParams = ["b"],
                InferShapes = c =>
                {
                    var b = c.Inputs.Count == 2 ? c.Inputs[1] : c.ParamShape("b")
                        ?? throw new FormatException($"node '{c.Node.Name}' ({op}) needs a second input or a 'b' parameter");
                    if (c.Inputs.Count == 2 && c.Node.Params.ContainsKey("b")) throw new FormatException($"node '{c.Node.Name}' ({op}) has both a second input and a 'b' parameter");
                    var o = OpSchemas.Broadcast(c.X, b);
                    if (c.Inputs.Count == 1 && !o.AsSpan().SequenceEqual(c.X))
                        throw new FormatException($"node '{c.Node.Name}' ({op}): constant {ShapeUtil.Format(b)} would grow input {ShapeUtil.Format(c.X)}");
                    return [o];
                },
            };
        yield return new OpSchema
        {
            Name = "pad", Doc = "constant padding of the last two axes: pads [top, left, bottom, right]", AttrDocs = new Dictionary<string, string> { ["pads"] = "required", ["value"] = "0" },
            InferShapes = c =>
            {
                var p = Pads(c.Node);
                if (c.X.Length < 2) throw new FormatException($"node '{c.Node.Name}' (pad): input {ShapeUtil.Format(c.X)} needs two spatial axes");
                var o = c.X.ToArray();
                o[^2] += p[0] + p[2]; o[^1] += p[1] + p[3];
                return [o];
            },
        };
    }

    /// <summary>The pads [top, left, bottom, right] of a <c>pad</c> node.</summary>
    public static int[] Pads(GraphNode n)
    {
        var p = n.Ints("pads") ?? throw new FormatException($"node '{n.Name}' (pad) has no 'pads'");
        if (p.Length != 4 || p.Any(v => v < 0 || v > 65536)) throw new FormatException($"node '{n.Name}' (pad): pads must be 4 values [top, left, bottom, right] in 0..65536");
        return p;
    }

    /// <summary>The per-sample target shape of a <c>reshape</c> node applied to <paramref name="x"/>.</summary>
    public static int[] ReshapeTarget(GraphNode n, int[] x)
    {
        var s = n.Ints("shape") ?? throw new FormatException($"node '{n.Name}' (reshape) has no 'shape'");
        var o = new int[s.Length];
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == -1) { if (infer >= 0) throw new FormatException($"node '{n.Name}' (reshape): more than one -1"); infer = i; continue; }
            if (s[i] == 0 && i >= x.Length) throw new FormatException($"node '{n.Name}' (reshape): 0 at axis {i} copies an axis the input lacks");
            o[i] = s[i] == 0 ? x[i] : s[i];
            if (o[i] < 1) throw new FormatException($"node '{n.Name}' (reshape): invalid target dimension {s[i]}");
            known *= o[i];
        }
        long total = ShapeUtil.Numel(x);
        if (infer >= 0)
        {
            if (total % known != 0) throw new FormatException($"node '{n.Name}' (reshape): {ShapeUtil.Format(x)} cannot become {ShapeUtil.Format(s)}");
            o[infer] = (int)(total / known);
        }
        if (ShapeUtil.Numel(o) != total) throw new FormatException($"node '{n.Name}' (reshape): {ShapeUtil.Format(x)} has {total} elements, target {ShapeUtil.Format(o)} has {ShapeUtil.Numel(o)}");
        return o;
    }

    private static void Rank(OpContext c, int rank)
    {
        if (c.X.Length != rank) throw new FormatException($"node '{c.Node.Name}' ({c.Node.Op}) expects a rank-{rank} sample, got {ShapeUtil.Format(c.X)}");
    }

    private static void CheckVector(OpContext c, string role, int length)
    {
        var s = c.ParamShape(role);
        if (s is not null && (s.Length != 1 || s[0] != length))
            throw new FormatException($"node '{c.Node.Name}' ({c.Node.Op}): {role} has shape {ShapeUtil.Format(s)}, expected [{length}]");
    }
}

namespace DeepShrink.Core.Graph;

/// <summary>Geometry attributes of a <c>conv2d</c> node, read one way for every consumer.</summary>
/// <remarks>Attributes: stride_h, stride_w, pad_h, pad_w (symmetric; an asymmetric padding is a <c>pad</c> node in
/// front), dilation_h, dilation_w, groups; all default to 1 except pads (0).</remarks>
public readonly record struct ConvAttrs(int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW, int Groups)
{
    /// <summary>Reads and validates the attributes of <paramref name="n"/>.</summary>
    public static ConvAttrs Of(GraphNode n)
    {
        var a = new ConvAttrs(n.Int("stride_h", 1), n.Int("stride_w", 1), n.Int("pad_h", 0), n.Int("pad_w", 0),
            n.Int("dilation_h", 1), n.Int("dilation_w", 1), n.Int("groups", 1));
        if (a.StrideH < 1 || a.StrideW < 1 || a.DilationH < 1 || a.DilationW < 1 || a.Groups < 1 || a.PadH < 0 || a.PadW < 0)
            throw new FormatException($"node '{n.Name}' (conv2d): strides, dilations and groups must be >= 1 and pads >= 0");
        return a;
    }

    /// <summary>Writes the attributes onto a node.</summary>
    public void WriteTo(GraphNode n)
    {
        n.Attrs["stride_h"] = StrideH; n.Attrs["stride_w"] = StrideW; n.Attrs["pad_h"] = PadH; n.Attrs["pad_w"] = PadW;
        n.Attrs["dilation_h"] = DilationH; n.Attrs["dilation_w"] = DilationW; n.Attrs["groups"] = Groups;
    }

    /// <summary>The attribute dictionary of a conv node.</summary>
    public Dictionary<string, AttrValue> ToAttrs()
    {
        var n = new GraphNode();
        WriteTo(n);
        return n.Attrs;
    }

    /// <summary>Output size along one axis.</summary>
    public static int OutSize(int input, int kernel, int stride, int pad, int dilation) => (input + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
}

/// <summary>Window attributes of a <c>maxpool2d</c>/<c>avgpool2d</c> node.</summary>
/// <remarks>Attributes: kernel_h, kernel_w (or a square <c>kernel</c>, default 2), stride_h, stride_w (or <c>stride</c>,
/// default the kernel), pad_h, pad_w (or <c>pad</c>, default 0), count_include_pad (average pooling: 1 divides by the
/// whole window, padding counted as zeros; 0 divides by the valid elements; default 1).</remarks>
public readonly record struct PoolAttrs(int KernelH, int KernelW, int StrideH, int StrideW, int PadH, int PadW, bool CountIncludePad)
{
    /// <summary>Reads and validates the attributes of <paramref name="n"/>.</summary>
    public static PoolAttrs Of(GraphNode n)
    {
        int k = n.Int("kernel", 2), s = n.Int("stride", 0), p = n.Int("pad", 0);
        int kh = n.Int("kernel_h", k), kw = n.Int("kernel_w", k);
        var a = new PoolAttrs(kh, kw, n.Int("stride_h", s > 0 ? s : kh), n.Int("stride_w", s > 0 ? s : kw),
            n.Int("pad_h", p), n.Int("pad_w", p), n.Int("count_include_pad", 1) != 0);
        if (a.KernelH < 1 || a.KernelW < 1 || a.StrideH < 1 || a.StrideW < 1 || a.PadH < 0 || a.PadW < 0 || a.PadH >= a.KernelH || a.PadW >= a.KernelW)
            throw new FormatException($"node '{n.Name}' ({n.Op}): kernel and stride must be >= 1, 0 <= pad < kernel");
        return a;
    }

    /// <summary>True for a square window with equal strides and pads (the form older graphs store).</summary>
    public bool IsSquare => KernelH == KernelW && StrideH == StrideW && PadH == PadW;

    /// <summary>The attribute dictionary of a pool node.</summary>
    public Dictionary<string, AttrValue> ToAttrs(bool average)
    {
        var d = new Dictionary<string, AttrValue>(StringComparer.Ordinal);
        if (IsSquare) { d["kernel"] = KernelH; d["stride"] = StrideH; d["pad"] = PadH; }
        else
        {
            d["kernel_h"] = KernelH; d["kernel_w"] = KernelW; d["stride_h"] = StrideH; d["stride_w"] = StrideW;
            d["pad_h"] = PadH; d["pad_w"] = PadW;
        }
        if (average && !CountIncludePad) d["count_include_pad"] = 0;
        return d;
    }
}

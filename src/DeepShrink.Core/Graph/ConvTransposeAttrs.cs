namespace DeepShrink.Core.Graph;

/// <summary>Geometry attributes of a <c>conv_transpose2d</c> node, read one way for every consumer.</summary>
/// <remarks>
/// Attributes: stride_h, stride_w, dilation_h, dilation_w, groups (default 1); pad_top, pad_left,
/// pad_bottom, pad_right (default 0: rows and columns cropped off the full output, may differ per side);
/// out_pad_h, out_pad_w (default 0: rows and columns added at the bottom and right). Output size along
/// one axis: stride (in - 1) + out_pad + dilation (kernel - 1) + 1 - pad_begin - pad_end (ONNX ConvTranspose).
/// </remarks>
public readonly record struct ConvTransposeAttrs(int StrideH, int StrideW, int PadTop, int PadLeft, int PadBottom, int PadRight,
    int DilationH, int DilationW, int OutPadH, int OutPadW, int Groups)
{
    /// <summary>Largest stride, dilation, pad or output padding accepted (guards shape arithmetic against overflow).</summary>
    public const int MaxValue = 65536;

    /// <summary>Reads and validates the attributes of <paramref name="n"/>.</summary>
    public static ConvTransposeAttrs Of(GraphNode n)
    {
        var a = new ConvTransposeAttrs(n.Int("stride_h", 1), n.Int("stride_w", 1), n.Int("pad_top", 0), n.Int("pad_left", 0),
            n.Int("pad_bottom", 0), n.Int("pad_right", 0), n.Int("dilation_h", 1), n.Int("dilation_w", 1),
            n.Int("out_pad_h", 0), n.Int("out_pad_w", 0), n.Int("groups", 1));
        if (!a.IsValid)
            throw new FormatException($"node '{n.Name}' (conv_transpose2d): strides, dilations and groups must be in 1..{MaxValue}, pads and output pads in 0..{MaxValue}");
        return a;
    }

    /// <summary>True when every value lies in its range.</summary>
    public bool IsValid
    {
        get
        {
            static bool Pos(int v) => v >= 1 && v <= MaxValue;
            static bool NonNeg(int v) => v >= 0 && v <= MaxValue;
            return Pos(StrideH) && Pos(StrideW) && Pos(DilationH) && Pos(DilationW) && Pos(Groups)
                && NonNeg(PadTop) && NonNeg(PadLeft) && NonNeg(PadBottom) && NonNeg(PadRight) && NonNeg(OutPadH) && NonNeg(OutPadW);
        }
    }

    /// <summary>Writes the attributes onto a node (all of them, defaults included).</summary>
    public void WriteTo(GraphNode n)
    {
        n.Attrs["stride_h"] = StrideH; n.Attrs["stride_w"] = StrideW;
        n.Attrs["pad_top"] = PadTop; n.Attrs["pad_left"] = PadLeft; n.Attrs["pad_bottom"] = PadBottom; n.Attrs["pad_right"] = PadRight;
        n.Attrs["dilation_h"] = DilationH; n.Attrs["dilation_w"] = DilationW;
        n.Attrs["out_pad_h"] = OutPadH; n.Attrs["out_pad_w"] = OutPadW; n.Attrs["groups"] = Groups;
    }

    /// <summary>The attribute dictionary of a conv_transpose2d node.</summary>
    public Dictionary<string, AttrValue> ToAttrs()
    {
        var n = new GraphNode();
        WriteTo(n);
        return n.Attrs;
    }

    /// <summary>Output height for input height <paramref name="h"/> and kernel height <paramref name="kh"/> (may be below 1 for bad pads).</summary>
    public long OutH(int h, int kh) => OutSize(h, kh, StrideH, PadTop, PadBottom, DilationH, OutPadH);

    /// <summary>Output width for input width <paramref name="w"/> and kernel width <paramref name="kw"/>.</summary>
    public long OutW(int w, int kw) => OutSize(w, kw, StrideW, PadLeft, PadRight, DilationW, OutPadW);

    /// <summary>stride (input - 1) + outPad + dilation (kernel - 1) + 1 - padBegin - padEnd.</summary>
    public static long OutSize(int input, int kernel, int stride, int padBegin, int padEnd, int dilation, int outPad)
        => (long)stride * (input - 1) + outPad + (long)dilation * (kernel - 1) + 1 - padBegin - padEnd;
}

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Shapes and hyper-parameters of a 2-D convolution (cross-correlation) over NCHW data:
/// input [N, C, H, W], weight [O, C/Groups, KH, KW], output [N, O, OH, OW].
/// </summary>
/// <remarks>
/// OH = floor((H + 2 PH - DH (KH - 1) - 1) / SH) + 1 and likewise OW (the usual definition, as in
/// PyTorch's <c>Conv2d</c>). Output element y[n, o, oy, ox] = sum over c in o's group, ky, kx of
/// x[n, c, oy SH - PH + ky DH, ox SW - PW + kx DW] * w[o, c mod (C/Groups), ky, kx], with input
/// positions outside the image counting as zero.
/// </remarks>
public readonly record struct ConvGeometry
{
    /// <summary>Batch size.</summary>
    public int N { get; init; }
    /// <summary>Input channels.</summary>
    public int C { get; init; }
    /// <summary>Input height.</summary>
    public int H { get; init; }
    /// <summary>Input width.</summary>
    public int W { get; init; }
    /// <summary>Output channels.</summary>
    public int O { get; init; }
    /// <summary>Kernel height.</summary>
    public int KH { get; init; }
    /// <summary>Kernel width.</summary>
    public int KW { get; init; }
    /// <summary>Vertical stride.</summary>
    public int SH { get; init; }
    /// <summary>Horizontal stride.</summary>
    public int SW { get; init; }
    /// <summary>Zero padding above and below.</summary>
    public int PH { get; init; }
    /// <summary>Zero padding left and right.</summary>
    public int PW { get; init; }
    /// <summary>Vertical dilation.</summary>
    public int DH { get; init; }
    /// <summary>Horizontal dilation.</summary>
    public int DW { get; init; }
    /// <summary>Number of channel groups (C for depthwise convolution).</summary>
    public int Groups { get; init; }

    /// <summary>Creates and validates a geometry.</summary>
    public ConvGeometry(int n, int c, int h, int w, int o, int kh, int kw,
        int sh = 1, int sw = 1, int ph = 0, int pw = 0, int dh = 1, int dw = 1, int groups = 1)
    {
        N = n; C = c; H = h; W = w; O = o; KH = kh; KW = kw;
        SH = sh; SW = sw; PH = ph; PW = pw; DH = dh; DW = dw; Groups = groups;
        Validate();
    }

    /// <summary>Output height.</summary>
    public int OH => (H + 2 * PH - DH * (KH - 1) - 1) / SH + 1;
    /// <summary>Output width.</summary>
    public int OW => (W + 2 * PW - DW * (KW - 1) - 1) / SW + 1;
    /// <summary>Input channels per group.</summary>
    public int CPerGroup => C / Groups;
    /// <summary>Output channels per group.</summary>
    public int OPerGroup => O / Groups;
    /// <summary>Reduction length of one output element: (C / Groups) KH KW.</summary>
    public int GroupK => CPerGroup * KH * KW;
    /// <summary>Output positions per image: OH OW.</summary>
    public int OutPlane => OH * OW;
    /// <summary>Elements of the input tensor.</summary>
    public int InputSize => checked(N * C * H * W);
    /// <summary>Elements of the weight tensor.</summary>
    public int WeightSize => checked(O * CPerGroup * KH * KW);
    /// <summary>Elements of the output tensor.</summary>
    public int OutputSize => checked(N * O * OH * OW);
    /// <summary>Multiply-accumulates of the forward pass.</summary>
    public long Macs => (long)N * O * OutPlane * GroupK;
    /// <summary>True for a 1x1, stride-1, unpadded convolution (the input is its own im2col matrix).</summary>
    public bool IsPointwise => KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid parameter.</summary>
    public void Validate()
    {
        if (N < 0 || C < 1 || H < 1 || W < 1 || O < 1)
            throw new ArgumentException($"conv: invalid sizes N={N} C={C} H={H} W={W} O={O} (need N >= 0 and the rest >= 1)");
        if (KH < 1 || KW < 1) throw new ArgumentException($"conv: kernel {KH}x{KW} must be at least 1x1");
        if (SH < 1 || SW < 1) throw new ArgumentException($"conv: stride ({SH}, {SW}) must be >= 1");
        if (PH < 0 || PW < 0) throw new ArgumentException($"conv: padding ({PH}, {PW}) must be >= 0");
        if (DH < 1 || DW < 1) throw new ArgumentException($"conv: dilation ({DH}, {DW}) must be >= 1");
        if (Groups < 1 || C % Groups != 0 || O % Groups != 0)
            throw new ArgumentException($"conv: groups={Groups} must be >= 1 and divide both input channels {C} and output channels {O}");
        long ekh = (long)DH * (KH - 1) + 1, ekw = (long)DW * (KW - 1) + 1;
        if (ekh > H + 2L * PH || ekw > W + 2L * PW)
            throw new ArgumentException($"conv: effective kernel {ekh}x{ekw} (kernel {KH}x{KW}, dilation ({DH}, {DW})) is larger than the padded input {H + 2L * PH}x{W + 2L * PW}");
    }

    internal string InputShapeText => $"[{N}, {C}, {H}, {W}]";
    internal string WeightShapeText => $"[{O}, {CPerGroup}, {KH}, {KW}]";
    internal string OutputShapeText => $"[{N}, {O}, {OH}, {OW}]";

    /// <summary>Throws when a buffer does not hold exactly <paramref name="expected"/> elements.</summary>
    internal static void CheckLength(int actual, int expected, string name, string shape, string op = "conv")
    {
        if (actual != expected)
            throw new ArgumentException($"{op}: {name} has {actual} elements, expected {expected} for shape {shape}");
    }
}

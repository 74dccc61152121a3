namespace DeepShrink.Core.Kernels;

/// <summary>
/// Shapes and hyper-parameters of a 2-D transposed convolution over NCHW data (ONNX ConvTranspose):
/// input [N, C, H, W], weight [C, O/Groups, KH, KW], output [N, O, OH, OW].
/// </summary>
/// <remarks>
/// The full output has FH = SH (H - 1) + DH (KH - 1) + 1 rows: full[n, o, iy SH + ky DH, ix SW + kx DW] +=
/// x[n, c, iy, ix] w[c, o mod (O/Groups), ky, kx] for c in o's group. The output is the window of the full
/// output that starts at (PT, PL) and has OH = FH + OPH - PT - PB rows and OW = FW + OPW - PL - PR columns,
/// with rows and columns past the full output (output padding) zero. It is the adjoint of the convolution
/// <see cref="Adjoint"/>: input [N, O, ...], weight [C, O/Groups, KH, KW], output [N, C, H, W].
/// </remarks>
public readonly record struct ConvTransposeGeometry
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
    /// <summary>Rows cropped at the top.</summary>
    public int PT { get; init; }
    /// <summary>Columns cropped at the left.</summary>
    public int PL { get; init; }
    /// <summary>Rows cropped at the bottom.</summary>
    public int PB { get; init; }
    /// <summary>Columns cropped at the right.</summary>
    public int PR { get; init; }
    /// <summary>Vertical dilation.</summary>
    public int DH { get; init; }
    /// <summary>Horizontal dilation.</summary>
    public int DW { get; init; }
    /// <summary>Rows added at the bottom (output padding).</summary>
    public int OPH { get; init; }
    /// <summary>Columns added at the right (output padding).</summary>
    public int OPW { get; init; }
    /// <summary>Channel groups.</summary>
    public int Groups { get; init; }

    /// <summary>Most elements one image's full (uncropped) output may have (2^28), so scratch stays bounded whatever the pads crop.</summary>
    public const long MaxFullElements = 1L << 28;

    /// <summary>Creates and validates a geometry.</summary>
    public ConvTransposeGeometry(int n, int c, int h, int w, int o, int kh, int kw, int sh = 1, int sw = 1,
        int pt = 0, int pl = 0, int pb = 0, int pr = 0, int dh = 1, int dw = 1, int oph = 0, int opw = 0, int groups = 1)
    {
        N = n; C = c; H = h; W = w; O = o; KH = kh; KW = kw; SH = sh; SW = sw; PT = pt; PL = pl; PB = pb; PR = pr;
        DH = dh; DW = dw; OPH = oph; OPW = opw; Groups = groups;
        Validate();
    }

    /// <summary>Rows of the full (uncropped) output.</summary>
    public int FullH => SH * (H - 1) + DH * (KH - 1) + 1;
    /// <summary>Columns of the full (uncropped) output.</summary>
    public int FullW => SW * (W - 1) + DW * (KW - 1) + 1;
    /// <summary>Output height.</summary>
    public int OH => FullH + OPH - PT - PB;
    /// <summary>Output width.</summary>
    public int OW => FullW + OPW - PL - PR;
    /// <summary>Output channels per group.</summary>
    public int OPerGroup => O / Groups;
    /// <summary>Elements of the input tensor.</summary>
    public int InputSize => checked(N * C * H * W);
    /// <summary>Elements of the weight tensor.</summary>
    public int WeightSize => checked(C * OPerGroup * KH * KW);
    /// <summary>Elements of the output tensor.</summary>
    public int OutputSize => checked(N * O * OH * OW);
    /// <summary>Multiply-accumulates of the forward pass.</summary>
    public long Macs => (long)N * C * H * W * OPerGroup * KH * KW;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid parameter.</summary>
    public void Validate()
    {
        if (N < 0 || C < 1 || H < 1 || W < 1 || O < 1)
            throw new ArgumentException($"conv_transpose: invalid sizes N={N} C={C} H={H} W={W} O={O} (need N >= 0 and the rest >= 1)");
        if (KH < 1 || KW < 1) throw new ArgumentException($"conv_transpose: kernel {KH}x{KW} must be at least 1x1");
        if (SH < 1 || SW < 1 || DH < 1 || DW < 1) throw new ArgumentException($"conv_transpose: strides ({SH}, {SW}) and dilations ({DH}, {DW}) must be >= 1");
        if (PT < 0 || PL < 0 || PB < 0 || PR < 0 || OPH < 0 || OPW < 0)
            throw new ArgumentException($"conv_transpose: pads ({PT}, {PL}, {PB}, {PR}) and output padding ({OPH}, {OPW}) must be >= 0");
        if (Groups < 1 || C % Groups != 0 || O % Groups != 0)
            throw new ArgumentException($"conv_transpose: groups={Groups} must be >= 1 and divide both input channels {C} and output channels {O}");
        long fh = (long)SH * (H - 1) + (long)DH * (KH - 1) + 1, fw = (long)SW * (W - 1) + (long)DW * (KW - 1) + 1;
        long oh = fh + OPH - PT - PB, ow = fw + OPW - PL - PR;
        if (oh < 1 || ow < 1) throw new ArgumentException($"conv_transpose: pads ({PT}, {PL}, {PB}, {PR}) leave an output of {oh}x{ow}");
        if ((double)O * fh * fw > MaxFullElements || (double)O * oh * ow > MaxFullElements)
            throw new ArgumentException($"conv_transpose: {O} output channels of {Math.Max(fh, oh)}x{Math.Max(fw, ow)} exceed {MaxFullElements} elements per image");
    }

    /// <summary>
    /// The convolution this one is the adjoint of. When <paramref name="direct"/> is true it maps the output
    /// [N, O, OH, OW] itself (pads PT, PL on the convolution's input); otherwise it maps the full output
    /// [N, O, FullH, FullW] (no pads) and the output is cropped from / extended to it.
    /// </summary>
    public ConvGeometry Adjoint(out bool direct)
    {
        direct = Fits(OH, PT, KH, SH, DH, H) && Fits(OW, PL, KW, SW, DW, W);
        return direct
            ? new ConvGeometry(N, O, OH, OW, C, KH, KW, SH, SW, PT, PL, DH, DW, Groups)
            : new ConvGeometry(N, O, FullH, FullW, C, KH, KW, SH, SW, 0, 0, DH, DW, Groups);
    }

    /// <summary>True when a convolution over <paramref name="size"/> positions with symmetric pad <paramref name="pad"/> has exactly <paramref name="outputs"/> outputs.</summary>
    private static bool Fits(int size, int pad, int k, int s, int d, int outputs)
    {
        long span = (long)size + 2L * pad - ((long)d * (k - 1) + 1);
        return span >= 0 && span / s + 1 == outputs;
    }

    internal string InputShapeText => $"[{N}, {C}, {H}, {W}]";
    internal string WeightShapeText => $"[{C}, {OPerGroup}, {KH}, {KW}]";
    internal string OutputShapeText => $"[{N}, {O}, {OH}, {OW}]";
}

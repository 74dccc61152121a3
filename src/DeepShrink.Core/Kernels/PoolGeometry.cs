namespace DeepShrink.Core.Kernels;

/// <summary>
/// Shapes and hyper-parameters of 2-D pooling over NCHW data: input [N, C, H, W], output [N, C, OH, OW]
/// with OH = floor((H + 2 PH - KH) / SH) + 1 (floor mode) and likewise OW.
/// </summary>
/// <remarks>
/// Window (oy, ox) covers input rows oy SH - PH .. oy SH - PH + KH - 1 and the matching columns.
/// Padding may be at most half the window, so every window holds at least one real pixel.
/// </remarks>
public readonly record struct PoolGeometry
{
    /// <summary>Batch size.</summary>
    public int N { get; init; }
    /// <summary>Channels.</summary>
    public int C { get; init; }
    /// <summary>Input height.</summary>
    public int H { get; init; }
    /// <summary>Input width.</summary>
    public int W { get; init; }
    /// <summary>Window height.</summary>
    public int KH { get; init; }
    /// <summary>Window width.</summary>
    public int KW { get; init; }
    /// <summary>Vertical stride.</summary>
    public int SH { get; init; }
    /// <summary>Horizontal stride.</summary>
    public int SW { get; init; }
    /// <summary>Padding above and below.</summary>
    public int PH { get; init; }
    /// <summary>Padding left and right.</summary>
    public int PW { get; init; }

    /// <summary>Creates and validates a geometry.</summary>
    public PoolGeometry(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph = 0, int pw = 0)
    {
        N = n; C = c; H = h; W = w; KH = kh; KW = kw; SH = sh; SW = sw; PH = ph; PW = pw;
        Validate();
    }

    /// <summary>Output height.</summary>
    public int OH => (H + 2 * PH - KH) / SH + 1;
    /// <summary>Output width.</summary>
    public int OW => (W + 2 * PW - KW) / SW + 1;
    /// <summary>Number of (image, channel) planes.</summary>
    public int Planes => checked(N * C);
    /// <summary>Elements of the input.</summary>
    public int InputSize => checked(N * C * H * W);
    /// <summary>Elements of the output.</summary>
    public int OutputSize => checked(N * C * OH * OW);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid parameter.</summary>
    public void Validate()
    {
        if (N < 0 || C < 1 || H < 1 || W < 1)
            throw new ArgumentException($"pool: invalid input sizes N={N} C={C} H={H} W={W}");
        if (KH < 1 || KW < 1) throw new ArgumentException($"pool: window {KH}x{KW} must be at least 1x1");
        if (SH < 1 || SW < 1) throw new ArgumentException($"pool: stride ({SH}, {SW}) must be >= 1");
        if (PH < 0 || PW < 0 || PH > KH / 2 || PW > KW / 2)
            throw new ArgumentException($"pool: padding ({PH}, {PW}) must be >= 0 and at most half the window {KH}x{KW}");
        if (KH > H + 2 * PH || KW > W + 2 * PW)
            throw new ArgumentException($"pool: window {KH}x{KW} is larger than the padded input {H + 2 * PH}x{W + 2 * PW}");
    }

    internal void Check(int xLen, int yLen, string xName = "x", string yName = "y")
    {
        Validate();
        if (xLen != InputSize) throw new ArgumentException($"pool: {xName} has {xLen} elements, expected {InputSize} for [{N}, {C}, {H}, {W}]");
        if (yLen != OutputSize) throw new ArgumentException($"pool: {yName} has {yLen} elements, expected {OutputSize} for [{N}, {C}, {OH}, {OW}]");
    }
}

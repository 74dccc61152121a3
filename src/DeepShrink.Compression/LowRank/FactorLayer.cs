using DeepShrink.Core;

namespace DeepShrink.Compression.LowRank;

/// <summary>
/// One linear or 2-D convolution layer as plain data: the input of a decomposition and each element of
/// the layer sequence it returns, so a graph transform can turn it into nodes without knowing the method.
/// </summary>
/// <param name="Op"><see cref="LinearOp"/> (weight [out, in]) or <see cref="Conv2dOp"/> (weight [O, C/groups, kh, kw], NCHW).</param>
/// <param name="Weight">Row-major weight values.</param>
/// <param name="WeightShape">Weight shape (see <paramref name="Op"/>).</param>
/// <param name="Bias">Bias [out] or null.</param>
/// <param name="Stride">Convolution stride (H, W); (1, 1) for linear.</param>
/// <param name="Padding">Symmetric zero padding (H, W); (0, 0) for linear.</param>
/// <param name="Dilation">Dilation (H, W); (1, 1) for linear.</param>
/// <param name="Groups">Channel groups; 1 for linear.</param>
public sealed record FactorLayer(string Op, float[] Weight, int[] WeightShape, float[]? Bias,
    (int H, int W) Stride, (int H, int W) Padding, (int H, int W) Dilation, int Groups)
{
    /// <summary>Op name of a fully connected layer y = x W^T + b.</summary>
    public const string LinearOp = "linear";
    /// <summary>Op name of a 2-D convolution (cross-correlation, as <see cref="Ops.Conv2d(Tensor, Tensor, Tensor?, ValueTuple{int, int}, ValueTuple{int, int}, ValueTuple{int, int}, int)"/>).</summary>
    public const string Conv2dOp = "conv2d";

    /// <summary>A linear layer with weight [out, in].</summary>
    public static FactorLayer Linear(float[] weight, int outFeatures, int inFeatures, float[]? bias = null)
        => new FactorLayer(LinearOp, weight, new[] { outFeatures, inFeatures }, bias, (1, 1), (0, 0), (1, 1), 1).Validated();

    /// <summary>A convolution with weight [O, C/groups, kh, kw].</summary>
    public static FactorLayer Conv(float[] weight, int[] shape, float[]? bias = null,
        (int H, int W)? stride = null, (int H, int W)? padding = null, (int H, int W)? dilation = null, int groups = 1)
        => new FactorLayer(Conv2dOp, weight, shape, bias, stride ?? (1, 1), padding ?? (0, 0), dilation ?? (1, 1), groups).Validated();

    /// <summary>Output features (linear) or output channels (conv).</summary>
    public int OutChannels => WeightShape[0];

    /// <summary>Input features (linear) or input channels C (conv).</summary>
    public int InChannels => IsLinear ? WeightShape[1] : WeightShape[1] * Groups;

    /// <summary>True for <see cref="LinearOp"/>.</summary>
    public bool IsLinear => Op == LinearOp;

    /// <summary>Kernel height (1 for linear).</summary>
    public int KernelH => IsLinear ? 1 : WeightShape[2];

    /// <summary>Kernel width (1 for linear).</summary>
    public int KernelW => IsLinear ? 1 : WeightShape[3];

    /// <summary>Stored parameters: weight plus bias.</summary>
    public long Parameters => Weight.Length + (Bias?.Length ?? 0);

    /// <summary>Checks op, shapes and hyper-parameters; throws a one-line <see cref="ArgumentException"/>.</summary>
    public FactorLayer Validated()
    {
        if (Op != LinearOp && Op != Conv2dOp) throw new ArgumentException($"layer: unknown op '{Op}' (expected {LinearOp} or {Conv2dOp})");
        int rank = IsLinear ? 2 : 4;
        if (WeightShape.Length != rank || WeightShape.Any(d => d < 1))
            throw new ArgumentException($"{Op}: weight shape [{string.Join(", ", WeightShape)}] is not a valid {rank}-D shape");
        if (Weight.Length != WeightShape.Aggregate(1L, (p, d) => p * d))
            throw new ArgumentException($"{Op}: weight has {Weight.Length} values, shape [{string.Join(", ", WeightShape)}] needs {WeightShape.Aggregate(1L, (p, d) => p * d)}");
        if (Bias is not null && Bias.Length != OutChannels) throw new ArgumentException($"{Op}: bias has {Bias.Length} values, expected {OutChannels}");
        if (Groups < 1 || OutChannels % Groups != 0) throw new ArgumentException($"{Op}: {OutChannels} output channels do not split into {Groups} groups");
        if (Stride.H < 1 || Stride.W < 1 || Dilation.H < 1 || Dilation.W < 1 || Padding.H < 0 || Padding.W < 0)
            throw new ArgumentException($"{Op}: invalid stride {Stride}, padding {Padding} or dilation {Dilation}");
        if (IsLinear && (Groups != 1 || Stride != (1, 1) || Padding != (0, 0) || Dilation != (1, 1)))
            throw new ArgumentException("linear: stride, padding, dilation and groups do not apply");
        return this;
    }

    /// <summary>Runs the layer on x ([N, in] for linear, [N, C, H, W] for conv) with the Core ops.</summary>
    public Tensor Forward(Tensor x)
    {
        var w = new Tensor(Weight, WeightShape);
        var b = Bias is null ? null : new Tensor(Bias, Bias.Length);
        return IsLinear ? Ops.Linear(x, w, b) : Ops.Conv2d(x, w, b, Stride, Padding, Dilation, Groups);
    }

    /// <summary>Multiply-accumulates for one input of spatial size (h, w) (ignored for linear).</summary>
    public long Macs(int h, int w)
    {
        var (oh, ow) = OutputSize(h, w);
        if (oh < 1 || ow < 1) throw new ArgumentException($"conv2d: input {h}x{w} is smaller than the kernel window");
        return (long)Weight.Length * oh * ow;
    }

    /// <summary>Output spatial size for an input of spatial size (h, w); (1, 1) for linear.</summary>
    public (int H, int W) OutputSize(int h, int w)
        => IsLinear ? (1, 1)
            : ((h + 2 * Padding.H - Dilation.H * (KernelH - 1) - 1) / Stride.H + 1,
               (w + 2 * Padding.W - Dilation.W * (KernelW - 1) - 1) / Stride.W + 1);
}

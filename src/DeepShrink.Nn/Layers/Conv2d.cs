using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn;

/// <summary>2-D convolution layer, NCHW; weight [out, in/groups, kh, kw].</summary>
public sealed class Conv2d : Module
{
    /// <summary>Weight [out, in/groups, kh, kw].</summary>
    public Tensor Weight { get; }
    /// <summary>Bias [out] or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel height.</summary>
    public int KernelH { get; }
    /// <summary>Kernel width.</summary>
    public int KernelW { get; }
    /// <summary>Strides, padding, dilation and groups.</summary>
    public ConvAttrs Geometry { get; }
    /// <summary>Kernel height (the size of a square kernel).</summary>
    public int KernelSize => KernelH;
    /// <summary>Vertical stride.</summary>
    public int Stride => Geometry.StrideH;
    /// <summary>Vertical zero padding.</summary>
    public int Padding => Geometry.PadH;
    /// <summary>Vertical dilation.</summary>
    public int Dilation => Geometry.DilationH;
    /// <summary>Groups (in == out == groups is depthwise).</summary>
    public int Groups => Geometry.Groups;
    /// <summary>True for a square kernel with equal strides, pads and dilations in both directions.</summary>
    public bool IsSquare => KernelH == KernelW && Geometry.StrideH == Geometry.StrideW && Geometry.PadH == Geometry.PadW && Geometry.DilationH == Geometry.DilationW;

    /// <summary>Creates a square-kernel layer with Kaiming-uniform weights (bound 1/sqrt(fan_in), as PyTorch).</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, Rng rng, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true)
        : this(inChannels, outChannels, (kernelSize, kernelSize), new ConvAttrs(stride, stride, padding, padding, dilation, dilation, groups), rng, bias)
    {
    }

    /// <summary>Creates a layer of any kernel shape and geometry with Kaiming-uniform weights.</summary>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernel, ConvAttrs geometry, Rng rng, bool bias = true)
        : this(inChannels, outChannels, kernel, geometry, bias)
    {
        Init.KaimingUniform(Weight, rng, gain: 1f / MathF.Sqrt(3f));
        if (Bias is not null) Init.Uniform(Bias, rng, 1f / MathF.Sqrt(inChannels / geometry.Groups * kernel.H * kernel.W));
    }

    /// <summary>Creates a zero-initialised layer (weights are loaded afterwards).</summary>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernel, ConvAttrs geometry, bool bias)
    {
        var g = geometry;
        if (inChannels <= 0 || outChannels <= 0 || kernel.H <= 0 || kernel.W <= 0 || g.StrideH <= 0 || g.StrideW <= 0 || g.PadH < 0 || g.PadW < 0
            || g.DilationH <= 0 || g.DilationW <= 0 || g.Groups <= 0)
            throw new ArgumentOutOfRangeException(nameof(kernel), "invalid Conv2d hyper-parameters");
        if (inChannels % g.Groups != 0 || outChannels % g.Groups != 0)
            throw new ArgumentException($"channels ({inChannels} in, {outChannels} out) must be divisible by groups ({g.Groups})");
        InChannels = inChannels; OutChannels = outChannels; KernelH = kernel.H; KernelW = kernel.W; Geometry = g;
        Weight = RegisterParameter("weight", new Tensor(outChannels, inChannels / g.Groups, kernel.H, kernel.W));
        if (bias) Bias = RegisterParameter("bias", new Tensor(outChannels));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Conv2d(x, Weight, Bias, (Geometry.StrideH, Geometry.StrideW),
        (Geometry.PadH, Geometry.PadW), (Geometry.DilationH, Geometry.DilationW), Geometry.Groups);

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path)
    {
        var p = new Dictionary<string, string> { ["weight"] = PathOf(path, "weight") };
        if (Bias is not null) p["bias"] = PathOf(path, "bias");
        return g.Add(path, "conv2d", new[] { input }, p, Geometry.ToAttrs());
    }
}

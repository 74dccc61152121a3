using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn;

/// <summary>2-D transposed convolution layer (ONNX ConvTranspose), NCHW; weight [in, out/groups, kh, kw].</summary>
public sealed class ConvTranspose2d : Module
{
    /// <summary>Weight [in, out/groups, kh, kw].</summary>
    public Tensor Weight { get; }
    /// <summary>Bias [out] or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Strides, per-side pads, dilations, output padding and groups.</summary>
    public ConvTransposeAttrs Geometry { get; }

    /// <summary>Creates a layer with uniform weights and bias in +-1/sqrt(out/groups kh kw) (PyTorch's default: the fan-in of weight dimension 1).</summary>
    public ConvTranspose2d(int inChannels, int outChannels, (int H, int W) kernel, ConvTransposeAttrs geometry, Rng rng, bool bias = true)
        : this(inChannels, outChannels, kernel, geometry, bias)
    {
        float bound = 1f / MathF.Sqrt(outChannels / geometry.Groups * kernel.H * kernel.W);
        Init.Uniform(Weight, rng, bound);
        if (Bias is not null) Init.Uniform(Bias, rng, bound);
    }

    /// <summary>Creates a zero-initialised layer (weights are loaded afterwards).</summary>
    public ConvTranspose2d(int inChannels, int outChannels, (int H, int W) kernel, ConvTransposeAttrs geometry, bool bias)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernel.H <= 0 || kernel.W <= 0 || !geometry.IsValid)
            throw new ArgumentOutOfRangeException(nameof(kernel), "invalid ConvTranspose2d hyper-parameters");
        if (inChannels % geometry.Groups != 0 || outChannels % geometry.Groups != 0)
            throw new ArgumentException($"channels ({inChannels} in, {outChannels} out) must be divisible by groups ({geometry.Groups})");
        InChannels = inChannels; OutChannels = outChannels; Geometry = geometry;
        Weight = RegisterParameter("weight", new Tensor(inChannels, outChannels / geometry.Groups, kernel.H, kernel.W));
        if (bias) Bias = RegisterParameter("bias", new Tensor(outChannels));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.ConvTranspose2d(x, Weight, Bias, Geometry);

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path)
    {
        var p = new Dictionary<string, string> { ["weight"] = PathOf(path, "weight") };
        if (Bias is not null) p["bias"] = PathOf(path, "bias");
        return g.Add(path, "conv_transpose2d", new[] { input }, p, Geometry.ToAttrs());
    }
}

using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn;

/// <summary>2-D convolution layer, NCHW; weight [out, in/groups, k, k].</summary>
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
    /// <summary>Square kernel size.</summary>
    public int KernelSize { get; }
    /// <summary>Stride.</summary>
    public int Stride { get; }
    /// <summary>Zero padding.</summary>
    public int Padding { get; }
    /// <summary>Dilation.</summary>
    public int Dilation { get; }
    /// <summary>Groups (in == out == groups is depthwise).</summary>
    public int Groups { get; }

    /// <summary>Creates the layer with Kaiming-uniform weights (bound 1/sqrt(fan_in), as PyTorch).</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, Rng rng, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize <= 0 || stride <= 0 || padding < 0 || dilation <= 0 || groups <= 0)
            throw new ArgumentOutOfRangeException(nameof(kernelSize), "invalid Conv2d hyper-parameters");
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"channels ({inChannels} in, {outChannels} out) must be divisible by groups ({groups})");
        InChannels = inChannels; OutChannels = outChannels; KernelSize = kernelSize;
        Stride = stride; Padding = padding; Dilation = dilation; Groups = groups;
        Weight = RegisterParameter("weight", new Tensor(outChannels, inChannels / groups, kernelSize, kernelSize));
        Init.KaimingUniform(Weight, rng, gain: 1f / MathF.Sqrt(3f));
        if (bias)
        {
            Bias = RegisterParameter("bias", new Tensor(outChannels));
            Init.Uniform(Bias, rng, 1f / MathF.Sqrt(inChannels / groups * kernelSize * kernelSize));
        }
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Conv2d(x, Weight, Bias, Stride, Padding, Dilation, Groups);

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path)
    {
        var p = new Dictionary<string, string> { ["weight"] = PathOf(path, "weight") };
        if (Bias is not null) p["bias"] = PathOf(path, "bias");
        return g.Add(path, "conv2d", new[] { input }, p, new Dictionary<string, double>
        {
            ["stride_h"] = Stride, ["stride_w"] = Stride, ["pad_h"] = Padding, ["pad_w"] = Padding,
            ["dilation_h"] = Dilation, ["dilation_w"] = Dilation, ["groups"] = Groups,
        });
    }
}

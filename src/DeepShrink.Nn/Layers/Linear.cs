using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn;

/// <summary>Fully connected layer y = x W^T + b; weight [out, in].</summary>
public sealed class Linear : Module
{
    /// <summary>Weight [out, in].</summary>
    public Tensor Weight { get; }
    /// <summary>Bias [out] or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>Input features.</summary>
    public int InFeatures { get; }
    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>Creates the layer with Kaiming-uniform weights, bound 1/sqrt(fan_in) (PyTorch default).</summary>
    public Linear(int inFeatures, int outFeatures, Rng rng, bool bias = true) : this(inFeatures, outFeatures, bias)
    {
        Init.KaimingUniform(Weight, rng, gain: 1f / MathF.Sqrt(3f));
        if (Bias is not null) Init.Uniform(Bias, rng, 1f / MathF.Sqrt(inFeatures));
    }

    /// <summary>Creates a zero-initialised layer (weights are loaded afterwards).</summary>
    public Linear(int inFeatures, int outFeatures, bool bias)
    {
        if (inFeatures <= 0 || outFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(inFeatures), "features must be positive");
        InFeatures = inFeatures; OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", new Tensor(outFeatures, inFeatures));
        if (bias) Bias = RegisterParameter("bias", new Tensor(outFeatures));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Linear(x, Weight, Bias);

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path)
    {
        var p = new Dictionary<string, string> { ["weight"] = PathOf(path, "weight") };
        if (Bias is not null) p["bias"] = PathOf(path, "bias");
        return g.Add(path, "linear", new[] { input }, p);
    }
}

using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Data;
using DeepShrink.Nn;

namespace DeepShrink.Cli.Infrastructure;

/// <summary>Anything that maps an image batch [N, C, H, W] to logits [N, classes]: a checkpoint, a .dsz, an ONNX model.</summary>
public interface IClassifier
{
    /// <summary>What runs it (e.g. "deepshrink dense engine", "deepshrink runtime", "onnxruntime").</summary>
    string Engine { get; }
    /// <summary>Input sample shape [C, H, W].</summary>
    int[] SampleShape { get; }
    /// <summary>Input normalisation and colour channel order stored with the model.</summary>
    ModelInput Input { get; }
    /// <summary>Dataset the model was trained on, if recorded.</summary>
    string? Dataset { get; }
    /// <summary>Logits for a batch.</summary>
    Tensor Forward(Tensor batch);
}

/// <summary>A zoo model run by the dense training engine.</summary>
public sealed class ModuleClassifier(Module model, int[] sampleShape, ModelInput input, string? dataset) : IClassifier
{
    /// <inheritdoc/>
    public string Engine => EngineName;
    /// <summary>Engine description (overridable for decoded files).</summary>
    public string EngineName { get; init; } = "deepshrink dense engine";
    /// <inheritdoc/>
    public int[] SampleShape { get; } = sampleShape;
    /// <inheritdoc/>
    public ModelInput Input { get; } = input;
    /// <inheritdoc/>
    public string? Dataset { get; } = dataset;
    /// <summary>The model.</summary>
    public Module Model { get; } = model;

    /// <inheritdoc/>
    public Tensor Forward(Tensor batch)
    {
        Model.Eval();
        using var _ = DeepShrink.Core.Autograd.Engine.NoGrad();
        return Model.Forward(batch);
    }
}

using DeepShrink.Compression.Binarization;
using DeepShrink.Compression.Quantization;

namespace DeepShrink.Compression.Recipes;

/// <summary>
/// Base of components that change the arithmetic of the weight layers (Linear, Conv2d): linear
/// quantisation, fixed point, binarisation. A recipe has at most one. <see cref="Layers"/> rules match
/// the layers' weight names (e.g. <c>conv1.weight</c>); <c>skip: true</c> keeps a layer in float.
/// </summary>
public abstract record PrecisionSpec(string Name, string Type, IReadOnlyList<LayerRule> Layers) : ComponentSpec(Name, Type)
{
    /// <summary>Keep the network's first weight layer (in module order) in float.</summary>
    public bool KeepFirst { get; init; }
    /// <summary>Keep the network's last weight layer in float.</summary>
    public bool KeepLast { get; init; }

    /// <inheritdoc/>
    public override Pipeline.ICompressionMethod CreateMethod(Recipe recipe, double budgetPp) => new Pipeline.PrecisionMethod(this);
}

/// <summary>Linear (affine) quantisation, post-training or quantisation-aware.</summary>
/// <param name="Name">Component name.</param>
/// <param name="Qat">Quantisation-aware training (fake quantisation + straight-through estimator) instead of post-training quantisation.</param>
/// <param name="Weights">Weight scheme (stored with the int8 codec).</param>
/// <param name="Activations">Scheme for the layers' input activations, or null to keep them in float.</param>
/// <param name="CalibrationBatches">Training batches used to calibrate activation ranges.</param>
/// <param name="Layers">Overrides, first match wins.</param>
public sealed record LinearQuantizationSpec(string Name, bool Qat, QuantScheme Weights, QuantScheme? Activations, int CalibrationBatches, IReadOnlyList<LayerRule> Layers)
    : PrecisionSpec(Name, "linear-quantization", Layers);

/// <summary>Fixed-point training (Gupta et al. 2015).</summary>
/// <param name="Name">Component name.</param>
/// <param name="Weights">Format of weights and biases.</param>
/// <param name="Activations">Format of the layers' input activations, or null for float.</param>
/// <param name="Gradients">Format of gradients (parameter and back-propagated), or null for float.</param>
/// <param name="Stochastic">Stochastic rounding in training (else round to nearest).</param>
/// <param name="Layers">Overrides, first match wins.</param>
public sealed record FixedPointSpec(string Name, FixedPointFormat Weights, FixedPointFormat? Activations, FixedPointFormat? Gradients, bool Stochastic, IReadOnlyList<LayerRule> Layers)
    : PrecisionSpec(Name, "fixed-point", Layers);

/// <summary>Binary weights (and activations) trained with the straight-through estimator.</summary>
/// <param name="Name">Component name.</param>
/// <param name="Method">BinaryConnect, BNN or XNOR-Net.</param>
/// <param name="Stochastic">BinaryConnect's stochastic binarisation during training.</param>
/// <param name="Layers">Overrides, first match wins.</param>
public sealed record BinarizationSpec(string Name, BinarizationMethod Method, bool Stochastic, IReadOnlyList<LayerRule> Layers)
    : PrecisionSpec(Name, "binarization", Layers);

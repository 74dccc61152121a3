using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Quantization;

/// <summary>
/// Fixed-point activations (a forward hook): the layer's input is rounded to <see cref="Activations"/>
/// and, in training, the gradient flowing back through it to <see cref="Gradients"/> (Gupta et al.
/// 2015). Training uses stochastic rounding when enabled; inference always rounds to nearest, so it
/// is deterministic.
/// </summary>
/// <remarks>Graph attributes: <c>in_fixed_word</c>, <c>in_fixed_frac</c> (round the input to nearest, ties up, saturating).</remarks>
public sealed class FixedPointInputHook(FixedPointFormat activations, FixedPointFormat? gradients, Rng? stochastic) : IForwardHook
{
    /// <summary>Graph attribute: word length.</summary>
    public const string WordAttr = "in_fixed_word";
    /// <summary>Graph attribute: fraction length.</summary>
    public const string FracAttr = "in_fixed_frac";

    /// <summary>Activation format.</summary>
    public FixedPointFormat Activations { get; } = activations.Validate();
    /// <summary>Format of back-propagated gradients (null: float).</summary>
    public FixedPointFormat? Gradients { get; } = gradients?.Validate();

    /// <inheritdoc/>
    public Tensor Forward(Module module, Tensor x, Func<Tensor, Tensor> next)
    {
        var g = Gradients ?? default;
        var rng = module.Training ? stochastic : null;
        return next(Ops.FixedPointRound(x, Activations.WordBits, Activations.FractionBits, g.WordBits, g.FractionBits, rng));
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, double> GraphAttrs => new Dictionary<string, double>
    {
        [WordAttr] = Activations.WordBits, [FracAttr] = Activations.FractionBits,
    };

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, Tensor> State { get; } = new Dictionary<string, Tensor>();
}

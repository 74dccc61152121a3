using DeepShrink.Core;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Quantization;

/// <summary>
/// Fixed-point parameters during training (Gupta et al. 2015): there is no float master copy; after
/// every optimiser step the parameters are rounded back to <see cref="Weights"/>, so an update
/// smaller than half a step survives only through stochastic rounding (in expectation). Parameter
/// gradients are rounded to <see cref="Gradients"/> before the step when that is set.
/// </summary>
public sealed class FixedPointCallback(IReadOnlyList<Tensor> parameters, FixedPointFormat weights, FixedPointFormat? gradients, Rng? stochastic) : ITrainingCallback
{
    /// <summary>Parameter format.</summary>
    public FixedPointFormat Weights { get; } = weights.Validate();
    /// <summary>Gradient format (null: float gradients).</summary>
    public FixedPointFormat? Gradients { get; } = gradients?.Validate();

    /// <summary>Rounds the parameters to nearest (at the start of fixed-point training).</summary>
    public void RoundToNearest()
    {
        foreach (var p in parameters) Weights.RoundInPlace(p.Span, null);
    }

    /// <inheritdoc/>
    public void BeforeOptimizerStep(TrainingContext ctx)
    {
        if (Gradients is not { } gf) return;
        foreach (var p in parameters)
        {
            if (p.Grad is null) continue;
            var g = p.Grad.ContiguousData().Clone();
            gf.RoundInPlace(g.Span, stochastic);
            p.Grad = g;
        }
    }

    /// <inheritdoc/>
    public void AfterOptimizerStep(TrainingContext ctx)
    {
        foreach (var p in parameters) Weights.RoundInPlace(p.Span, stochastic);
    }
}

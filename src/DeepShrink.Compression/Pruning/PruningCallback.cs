using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Pruning;

/// <summary>
/// Keeps pruned weights at zero during retraining: gradients of pruned weights are zeroed before
/// the optimiser step, and weights are re-masked after it (momentum or weight decay cannot revive them).
/// </summary>
public sealed class PruningCallback(MaskSet masks) : ITrainingCallback
{
    /// <summary>The masks being enforced.</summary>
    public MaskSet Masks { get; } = masks;

    /// <inheritdoc/>
    public void OnEpochBegin(TrainingContext ctx) => Masks.ApplyToWeights(ctx.Model);

    /// <inheritdoc/>
    public void BeforeOptimizerStep(TrainingContext ctx) => Masks.ApplyToGradients(ctx.Model);

    /// <inheritdoc/>
    public void AfterOptimizerStep(TrainingContext ctx) => Masks.ApplyToWeights(ctx.Model);
}

using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Sharing;

/// <summary>How a centroid's step is formed from its members' gradients.</summary>
public enum CentroidStep
{
    /// <summary>The sum of the members' gradients (Deep Compression eq. 3): the step grows with the cluster size.</summary>
    Sum,
    /// <summary>
    /// Their mean: the sum divided by the member count, i.e. the sum preconditioned by the centroid's diagonal
    /// curvature (the sum of its members'), so a centroid moves like one of its weights whatever the cluster size.
    /// </summary>
    Mean,
}

/// <summary>
/// Centroid fine-tuning during retraining. Gradients of all weights in a cluster are summed into
/// the centroid gradient (Deep Compression eq. 3; divided by the member count with
/// <see cref="CentroidStep.Mean"/>) and the centroid is updated by plain SGD with
/// the optimiser's current learning rate times <see cref="LrScale"/>; the weights are then rewritten
/// from the centroids, so the model always holds exactly the shared values. The optimiser's own
/// step never sees these parameters' gradients.
/// </summary>
public sealed class SharingCallback(IReadOnlyDictionary<string, SharedLayer> layers, float lrScale = 1f, CentroidStep step = CentroidStep.Sum) : ITrainingCallback
{
    /// <summary>Sum (Deep Compression) or mean of the members' gradients.</summary>
    public CentroidStep Step { get; } = step;

    // Member counts per layer for the mean step, counted once: the assignments stay fixed while centroids fine-tune.
    private readonly Dictionary<SharedLayer, int[]> _counts = [];

    /// <summary>The shared layers being fine-tuned.</summary>
    public IReadOnlyDictionary<string, SharedLayer> Layers { get; } = layers;

    /// <summary>Multiplier of the optimiser learning rate for centroid updates.</summary>
    public float LrScale { get; } = lrScale;

    /// <inheritdoc/>
    public void BeforeOptimizerStep(TrainingContext ctx)
    {
        float lr = ctx.Optimizer.LearningRate * LrScale;
        foreach (var (name, p) in ctx.Model.NamedParameters())
        {
            if (!Layers.TryGetValue(name, out var layer) || p.Grad is null) continue;
            var g = layer.CentroidGradients(p.Grad.ContiguousData().Span);
            if (Step == CentroidStep.Mean)
            {
                if (!_counts.TryGetValue(layer, out var counts)) _counts[layer] = counts = layer.Counts();
                for (int k = 0; k < g.Length; k++) g[k] /= Math.Max(1, counts[k]);
            }
            for (int k = 0; k < g.Length; k++) layer.Centroids[k] -= (float)(lr * g[k]);
            p.Grad = null; // the optimiser skips parameters without a gradient
        }
    }

    /// <inheritdoc/>
    public void AfterOptimizerStep(TrainingContext ctx)
    {
        foreach (var (name, p) in ctx.Model.NamedParameters())
            if (Layers.TryGetValue(name, out var layer)) layer.WriteWeights(p.Span);
    }
}

using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Sharing;

/// <summary>
/// Centroid fine-tuning during retraining. Gradients of all weights in a cluster are summed into
/// the centroid gradient (Deep Compression eq. 3) and the centroid is updated by plain SGD with
/// the optimiser's current learning rate times <see cref="LrScale"/>; the weights are then rewritten
/// from the centroids, so the model always holds exactly the shared values. The optimiser's own
/// step never sees these parameters' gradients.
/// </summary>
public sealed class SharingCallback(IReadOnlyDictionary<string, SharedLayer> layers, float lrScale = 1f) : ITrainingCallback
{
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

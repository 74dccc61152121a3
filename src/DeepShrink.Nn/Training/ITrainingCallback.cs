using DeepShrink.Core;

namespace DeepShrink.Nn.Training;

/// <summary>
/// Hooks a compression method uses during training (Distiller-style scheduler hooks). All members
/// have empty defaults; implement only what you need.
/// </summary>
public interface ITrainingCallback
{
    /// <summary>Before the first batch of an epoch.</summary>
    void OnEpochBegin(TrainingContext ctx) { }
    /// <summary>After the last batch of an epoch.</summary>
    void OnEpochEnd(TrainingContext ctx) { }
    /// <summary>Before the forward pass of a minibatch.</summary>
    void OnBatchBegin(TrainingContext ctx) { }
    /// <summary>Before backward; may return a modified loss (e.g. plus a regulariser).</summary>
    Tensor BeforeBackward(TrainingContext ctx, Tensor loss) => loss;
    /// <summary>After backward, before the optimiser step (e.g. mask or aggregate gradients).</summary>
    void BeforeOptimizerStep(TrainingContext ctx) { }
    /// <summary>After the optimiser step (e.g. re-apply masks, project weights).</summary>
    void AfterOptimizerStep(TrainingContext ctx) { }
    /// <summary>After a minibatch.</summary>
    void OnBatchEnd(TrainingContext ctx) { }
}

/// <summary>State visible to callbacks.</summary>
public sealed class TrainingContext
{
    /// <summary>The model being trained.</summary>
    public required Module Model { get; init; }
    /// <summary>The optimiser.</summary>
    public required Optim.Optimizer Optimizer { get; init; }
    /// <summary>Zero-based epoch.</summary>
    public int Epoch { get; internal set; }
    /// <summary>Zero-based batch index within the epoch.</summary>
    public int Batch { get; internal set; }
    /// <summary>Batches in this epoch (if known, else -1).</summary>
    public int BatchesPerEpoch { get; internal set; } = -1;
    /// <summary>Global step count.</summary>
    public long Step { get; internal set; }
    /// <summary>Current input batch.</summary>
    public Tensor? Inputs { get; internal set; }
    /// <summary>Current labels.</summary>
    public int[]? Labels { get; internal set; }
    /// <summary>Loss of the last batch.</summary>
    public float LastLoss { get; internal set; }
}

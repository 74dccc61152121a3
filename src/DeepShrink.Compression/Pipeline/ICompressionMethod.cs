using DeepShrink.Core;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// A compression method as a component of a recipe (Distiller's scheduler hooks, generalised). The
/// runner calls <see cref="Plan"/> once, <see cref="Apply"/> at each epoch of the component's policy
/// (including the final epoch, after the last retraining), then <see cref="Finish"/>, and asks every
/// component for tensor encodings when the <c>.dsz</c> is written. A method contributes through the
/// <see cref="CompressionContext"/>: training callbacks (<see cref="CompressionContext.Callbacks"/>),
/// extra trainable parameters (<see cref="CompressionContext.ExtraParameters"/>), loss terms (by
/// wrapping <see cref="CompressionContext.Loss"/>), forward hooks on layers
/// (<c>Module.AddForwardHook</c>), graph transforms (<see cref="CompressionContext.ReplaceModel"/>:
/// replace a node by several, remove channels), masks, codebooks and encoded tensors.
/// </summary>
/// <remarks>
/// Components that act at the same epoch run in ascending <see cref="Order"/> (pruning 100, sharing
/// 200, precision 300, encoder 900); a method outside this assembly chooses its own. A component type
/// is registered with <see cref="CompressionMethods.Register"/>.
/// </remarks>
public interface ICompressionMethod
{
    /// <summary>The component's name in the recipe.</summary>
    string Name { get; }

    /// <summary>Position among components acting at the same epoch (lower first).</summary>
    int Order { get; }

    /// <summary>Once, before the first epoch of the first attempt (e.g. a sensitivity analysis).</summary>
    void Plan(CompressionContext ctx) { }

    /// <summary>At the start of every attempt, before <see cref="Plan"/> (e.g. a loss term: the runner resets <see cref="CompressionContext.Loss"/> per attempt).</summary>
    void Begin(CompressionContext ctx) { }

    /// <summary>At each epoch of the component's policy; <paramref name="step"/> counts from 1 to <paramref name="steps"/>.</summary>
    void Apply(CompressionContext ctx, int epoch, int step, int steps) { }

    /// <summary>True when the optimiser must be rebuilt after <see cref="Apply"/> (its state no longer fits the weights).</summary>
    bool ResetsOptimizer => false;

    /// <summary>After the schedule (fixes final values: masks applied, codebooks written, codecs chosen).</summary>
    void Finish(CompressionContext ctx) { }

    /// <summary>The encoding of a tensor of the compressed model, or null when this component has no opinion.</summary>
    EncodedTensor? Encode(CompressionContext ctx, string name, Tensor value) => null;

    /// <summary>
    /// When an attempt misses the accuracy budget: loosen the automatic choices for the next attempt and
    /// return true, or return false when this component has nothing to loosen.
    /// </summary>
    bool BackOff(CompressionContext ctx) => false;

    /// <summary>
    /// After every attempt (<paramref name="passed"/>: within the budget on validation data): choose the next attempt's
    /// automatic settings and return true to run another one (a search that also moves towards more compression
    /// after a pass), or false when this component has nothing more to try. The runner keeps the latest passing
    /// attempt's model. Default: <see cref="BackOff"/> after a miss, nothing after a pass.
    /// </summary>
    bool Advance(CompressionContext ctx, bool passed) => !passed && BackOff(ctx);
}

using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Pruning;

/// <summary>
/// A temporary forward hook that hands a layer's input to a sink and then runs the layer unchanged.
/// <see cref="LayerCalibration"/> adds it innermost (after any quantiser hooks, so it sees the input the
/// weights multiply) and removes it afterwards.
/// </summary>
public sealed class InputCaptureHook(Action<Tensor> sink) : IForwardHook
{
    private static readonly IReadOnlyDictionary<string, double> NoAttrs = new Dictionary<string, double>();
    private static readonly IReadOnlyDictionary<string, Tensor> NoState = new Dictionary<string, Tensor>();

    /// <inheritdoc/>
    public Tensor Forward(Module module, Tensor x, Func<Tensor, Tensor> next)
    {
        sink(x);
        return next(x);
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, double> GraphAttrs => NoAttrs;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, Tensor> State => NoState;
}

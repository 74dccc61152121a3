using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Pruning;

/// <summary>
/// A temporary forward hook that hands a layer's input to a sink and then runs the layer unchanged
/// (through the hook it replaced, if any). Installed and removed by <see cref="LayerCalibration"/>.
/// </summary>
public sealed class InputCaptureHook(IForwardHook? previous, Action<Tensor> sink) : IForwardHook
{
    private static readonly IReadOnlyDictionary<string, double> NoAttrs = new Dictionary<string, double>();
    private static readonly IReadOnlyDictionary<string, Tensor> NoState = new Dictionary<string, Tensor>();

    /// <summary>The hook this one replaced (restored afterwards).</summary>
    public IForwardHook? Previous { get; } = previous;

    /// <inheritdoc/>
    public Tensor Forward(Module module, Tensor x, Func<Tensor, Tensor> next)
    {
        sink(x);
        return Previous is null ? next(x) : Previous.Forward(module, x, next);
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, double> GraphAttrs => Previous?.GraphAttrs ?? NoAttrs;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, Tensor> State => Previous?.State ?? NoState;
}

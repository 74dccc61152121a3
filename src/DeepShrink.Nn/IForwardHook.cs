using DeepShrink.Core;

namespace DeepShrink.Nn;

/// <summary>
/// Wraps a module's forward pass (see <see cref="Module.ForwardHook"/>): compression methods use it to
/// quantise or binarise a layer's input (and rescale its output) without changing the layer itself.
/// </summary>
/// <remarks>
/// A hook is part of the model's inference function, so it also describes itself for the graph
/// (<see cref="GraphAttrs"/> are merged into the module's graph node) and may own tensors
/// (<see cref="State"/>, saved in the state dict as <c>{module path}.{key}</c> and referenced from the
/// graph node's params under the same key).
/// </remarks>
public interface IForwardHook
{
    /// <summary>Computes the module's output; <paramref name="next"/> is the module's own forward.</summary>
    Tensor Forward(Module module, Tensor x, Func<Tensor, Tensor> next);

    /// <summary>Numeric attributes added to the module's graph node.</summary>
    IReadOnlyDictionary<string, double> GraphAttrs { get; }

    /// <summary>Tensors owned by the hook (running statistics, ...), by local key.</summary>
    IReadOnlyDictionary<string, Tensor> State { get; }
}

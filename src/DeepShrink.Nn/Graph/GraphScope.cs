using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn;

/// <summary>
/// A container module that only groups children under a dotted path (e.g. <c>layer1_0</c> holding
/// <c>conv1</c>, <c>bn1</c>) inside a <see cref="GraphModule"/>; it has no forward of its own.
/// </summary>
public sealed class GraphScope : Module
{
    /// <summary>Registers a child under <paramref name="name"/>.</summary>
    public T Add<T>(string name, T module) where T : Module => RegisterModule(name, module);

    /// <summary>The child named <paramref name="name"/>, or null.</summary>
    public Module? Child(string name) => NamedChildren().FirstOrDefault(c => c.Name == name).Module;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => throw new InvalidOperationException("a graph scope has no forward; run the GraphModule that owns it");

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path) => throw new InvalidOperationException("a graph scope has no graph of its own");
}

/// <summary>
/// The constant operand <c>b</c> of a graph element-wise node (e.g. the mean an imported model
/// subtracts): a buffer, saved and loaded with the state dict but not trained.
/// </summary>
public sealed class GraphConstant : Module
{
    /// <summary>The constant.</summary>
    public Tensor Value { get; }

    /// <summary>Holds <paramref name="value"/> as buffer <c>b</c>.</summary>
    public GraphConstant(Tensor value) => Value = RegisterBuffer("b", value);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => throw new InvalidOperationException("a graph constant has no forward");

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path) => throw new InvalidOperationException("a graph constant has no graph of its own");
}

/// <summary>
/// Rebuilds a forward hook that a stored graph records on a node (input quantisers, binarisers:
/// attributes such as <c>in_quant_*</c>) when a <see cref="GraphModule"/> is built from a file.
/// DeepShrink.Compression provides the factory for its hooks.
/// </summary>
public interface INodeHookFactory
{
    /// <summary>The hook for <paramref name="node"/>'s layer, or null when the node carries none of this factory's attributes.</summary>
    /// <exception cref="FormatException">The node's hook attributes are inconsistent.</exception>
    IForwardHook? Create(GraphNode node, Module layer);
}

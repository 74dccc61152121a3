namespace DeepShrink.Core.Autograd;

/// <summary>
/// A recorded operation in the autograd graph: holds its inputs and computes their gradients
/// from the gradient of its output.
/// </summary>
/// <remarks>
/// Primitives subclass this (micrograd/tinygrad style); composite ops are compositions of
/// primitives and need no node of their own.
/// </remarks>
public abstract class GradNode
{
    /// <summary>The tensors this node's output was computed from.</summary>
    public Tensor[] Inputs { get; }

    /// <summary>Creates a node over its inputs.</summary>
    protected GradNode(params Tensor[] inputs) => Inputs = inputs;

    /// <summary>Readable op name, for error messages and graph dumps.</summary>
    public virtual string OpName => GetType().Name.Replace("Node", "");

    /// <summary>
    /// Returns the gradient for each input (null where the input needs none), given the
    /// gradient of the output. Implementations must not modify <paramref name="gradOutput"/>.
    /// </summary>
    public abstract Tensor?[] Backward(Tensor gradOutput);

    /// <summary>True when input <paramref name="i"/> needs a gradient.</summary>
    protected bool Needs(int i) => Inputs[i].RequiresGrad;
}

/// <summary>A node whose backward is given as a delegate (for simple ops).</summary>
public sealed class LambdaNode : GradNode
{
    private readonly Func<Tensor, Tensor?[]> _backward;
    private readonly string _name;

    /// <summary>Creates a node from a backward delegate.</summary>
    public LambdaNode(string name, Func<Tensor, Tensor?[]> backward, params Tensor[] inputs) : base(inputs)
    {
        _name = name; _backward = backward;
    }

    /// <inheritdoc/>
    public override string OpName => _name;

    /// <inheritdoc/>
    public override Tensor?[] Backward(Tensor gradOutput) => _backward(gradOutput);
}

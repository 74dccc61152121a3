using DeepShrink.Runtime.Kernels;

namespace DeepShrink.Runtime.Execution;

/// <summary>Fully connected layer: y [N, out] = t(x) [N, in] W^T + bias (+ XNOR rescale, + ReLU when fused), t the node's input transform.</summary>
internal sealed class LinearStep(string name, int input, IWeightMatrix weights, float[] bias, InputTransform? transform)
    : Step(name, "linear", [input], [weights.Cols], -1, weights.Rows)
{
    /// <summary>The weights (whichever storage won at load time).</summary>
    public IWeightMatrix Weights { get; } = weights;

    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        using var x = TransformedInput.Create(transform, In(f, 0), f.Batch);
        var y = Out(f);
        Weights.MultiplyRows(x.X, f.Batch, y, f.Threads);
        AddChannelBias(y, bias, f.Batch, Weights.Rows, 1);
        transform?.Rescale(y, bias, x.Scale, f.Batch);
        Finish(y);
    }
}

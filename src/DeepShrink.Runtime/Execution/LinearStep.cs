using DeepShrink.Runtime.Kernels;

namespace DeepShrink.Runtime.Execution;

/// <summary>Fully connected layer: y [N, out] = x [N, in] W^T + bias (+ ReLU when fused).</summary>
internal sealed class LinearStep(string name, int input, int output, IWeightMatrix weights, float[] bias)
    : Step(name, "linear", [input], [weights.Cols], output, weights.Rows)
{
    /// <summary>The weights (whichever storage won at load time).</summary>
    public IWeightMatrix Weights { get; } = weights;

    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        var x = In(f, 0);
        var y = Out(f);
        Weights.MultiplyRows(x, f.Batch, y, f.Threads);
        AddChannelBias(y, bias, f.Batch, Weights.Rows, 1);
        Finish(y);
    }
}

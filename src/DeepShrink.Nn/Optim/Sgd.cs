using DeepShrink.Core;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Nn.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay.
/// </summary>
/// <remarks>g' = g + wd*w; v = mu*v + g'; step = nesterov ? g' + mu*v : v; w -= lr*step (PyTorch convention).</remarks>
public sealed class Sgd : Optimizer
{
    private float[]?[] _velocity;
    /// <summary>Momentum coefficient.</summary>
    public float Momentum { get; }
    /// <summary>L2 weight decay.</summary>
    public float WeightDecay { get; }
    /// <summary>Use Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <summary>Creates the optimiser.</summary>
    public Sgd(IEnumerable<(string Name, Tensor Param)> parameters, float lr, float momentum = 0f, float weightDecay = 0f, bool nesterov = false)
        : base(parameters, lr)
    {
        if (momentum < 0f || momentum >= 1f) throw new ArgumentOutOfRangeException(nameof(momentum), "must be in [0, 1)");
        if (weightDecay < 0f) throw new ArgumentOutOfRangeException(nameof(weightDecay), "must be >= 0");
        if (nesterov && momentum == 0f) throw new ArgumentException("Nesterov needs momentum > 0");
        Momentum = momentum; WeightDecay = weightDecay; Nesterov = nesterov;
        _velocity = new float[Params.Count][];
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Kind, float[]?[] Buffers)> StateBuffers => [("velocity", _velocity)];

    /// <inheritdoc/>
    protected override void Update(int index, Span<float> w, ReadOnlySpan<float> grad)
    {
        var v = Momentum == 0f ? default : State(ref _velocity, index, w.Length).AsSpan();
        SgdKernels.Step(LearningRate, Momentum, WeightDecay, Nesterov, w, grad, v); // one fused pass
    }
}

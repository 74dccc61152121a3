using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using DeepShrink.Core;

namespace DeepShrink.Nn.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay.
/// </summary>
/// <remarks>g' = g + wd*w; v = mu*v + g'; step = nesterov ? g' + mu*v : v; w -= lr*step (PyTorch convention).</remarks>
public sealed class Sgd : Optimizer
{
    private float[]?[] _velocity;
    private float[]?[] _decayed; // per-parameter scratch for g + wd*w (no allocation per step)
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
        _decayed = new float[Params.Count][];
    }

    /// <inheritdoc/>
    protected override void Update(int index, Span<float> w, ReadOnlySpan<float> grad)
    {
        float lr = LearningRate;
        ReadOnlySpan<float> g = grad;
        if (WeightDecay != 0f)
        {
            var tmp = State(ref _decayed, index, w.Length);
            TensorPrimitives.MultiplyAdd(w, WeightDecay, grad, tmp); // g + wd*w
            g = tmp;
        }
        if (Momentum == 0f) { TensorPrimitives.MultiplyAdd(g, -lr, w, w); return; }
        var v = State(ref _velocity, index, w.Length);
        TensorPrimitives.MultiplyAdd(v, Momentum, g, v); // v = mu v + g
        if (Nesterov)
        {
            TensorPrimitives.MultiplyAdd(g, -lr, w, w);
            TensorPrimitives.MultiplyAdd(v, -lr * Momentum, w, w);
        }
        else TensorPrimitives.MultiplyAdd(v, -lr, w, w);
    }
}

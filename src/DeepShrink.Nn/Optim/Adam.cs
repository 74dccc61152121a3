using DeepShrink.Core;

namespace DeepShrink.Nn.Optim;

/// <summary>
/// Adam (Kingma and Ba, 2015) and AdamW (Loshchilov and Hutter, 2019: decoupled weight decay).
/// </summary>
/// <remarks>
/// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
/// Adam adds wd*w to g (L2); AdamW instead applies w -= lr*wd*w before the update.
/// </remarks>
public sealed class Adam : Optimizer
{
    private float[]?[] _m, _v;
    private readonly int[] _t;
    /// <summary>Beta1.</summary>
    public float Beta1 { get; }
    /// <summary>Beta2.</summary>
    public float Beta2 { get; }
    /// <summary>Epsilon.</summary>
    public float Eps { get; }
    /// <summary>Weight decay.</summary>
    public float WeightDecay { get; }
    /// <summary>True for AdamW (decoupled decay).</summary>
    public bool Decoupled { get; }

    /// <summary>Creates Adam (or AdamW with <paramref name="decoupled"/>).</summary>
    public Adam(IEnumerable<(string Name, Tensor Param)> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f,
        float eps = 1e-8f, float weightDecay = 0f, bool decoupled = false) : base(parameters, lr)
    {
        if (beta1 < 0f || beta1 >= 1f || beta2 < 0f || beta2 >= 1f) throw new ArgumentOutOfRangeException(nameof(beta1), "betas must be in [0, 1)");
        if (weightDecay < 0f) throw new ArgumentOutOfRangeException(nameof(weightDecay));
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay; Decoupled = decoupled;
        _m = new float[Params.Count][]; _v = new float[Params.Count][]; _t = new int[Params.Count];
    }

    /// <summary>AdamW with the usual default decay 0.01.</summary>
    public static Adam AdamW(IEnumerable<(string Name, Tensor Param)> parameters, float lr = 1e-3f, float weightDecay = 0.01f)
        => new(parameters, lr, weightDecay: weightDecay, decoupled: true);

    /// <inheritdoc/>
    protected override IEnumerable<(string Kind, float[]?[] Buffers)> StateBuffers => [("m", _m), ("v", _v)];

    /// <inheritdoc/>
    protected override int[]? StepCounts => _t;

    /// <inheritdoc/>
    protected override void Update(int index, Span<float> w, ReadOnlySpan<float> g)
    {
        var m = State(ref _m, index, w.Length);
        var v = State(ref _v, index, w.Length);
        int t = ++_t[index];
        float lr = LearningRate;
        float bc1 = 1f - MathF.Pow(Beta1, t), bc2 = 1f - MathF.Pow(Beta2, t);
        float stepSize = lr / bc1, invSqrtBc2 = 1f / MathF.Sqrt(bc2);
        float b1 = Beta1, b2 = Beta2, eps = Eps, wd = WeightDecay;
        bool dec = Decoupled;
        for (int i = 0; i < w.Length; i++)
        {
            float gi = g[i];
            if (wd != 0f)
            {
                if (dec) w[i] -= lr * wd * w[i];
                else gi += wd * w[i];
            }
            m[i] = b1 * m[i] + (1f - b1) * gi;
            v[i] = b2 * v[i] + (1f - b2) * gi * gi;
            w[i] -= stepSize * m[i] / (MathF.Sqrt(v[i]) * invSqrtBc2 + eps);
        }
    }
}

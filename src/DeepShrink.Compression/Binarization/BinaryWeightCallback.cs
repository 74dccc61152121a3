using DeepShrink.Compression.Quantization;
using DeepShrink.Core;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Binarization;

/// <summary>One binarised weight tensor during training.</summary>
/// <param name="Name">Parameter name.</param>
/// <param name="Weight">The parameter (holds the real-valued weights between batches).</param>
/// <param name="PerChannel">XNOR-style alpha per output channel, recomputed from the real weights every batch.</param>
/// <param name="H">Fixed per-layer magnitude (BinaryConnect/BNN's +-H) when not per channel.</param>
public sealed record BinaryWeight(string Name, Tensor Weight, bool PerChannel, float H)
{
    /// <summary>The scaling factors for the given real weights (one per channel, or the single H).</summary>
    public float[] Alphas(ReadOnlySpan<float> real) => PerChannel ? Binarizer.ChannelAlphas(real, Weight.Shape[0]) : new[] { H };
}

/// <summary>
/// Trains with binary weights while keeping real-valued ones (BinaryConnect, Courbariaux et al. 2015,
/// Algorithm 1): forward and backward use alpha * sign(W) (or stochastic signs), the gradient updates
/// the real weights, which are then clipped to [-H, H] (when <paramref name="clip"/>) so that they
/// stay able to change sign.
/// </summary>
public sealed class BinaryWeightCallback(IReadOnlyList<BinaryWeight> weights, Rng? stochastic, bool clip)
    : ShadowWeightCallback(weights.Select(w => w.Weight).ToList())
{
    /// <summary>The binarised tensors.</summary>
    public IReadOnlyList<BinaryWeight> Weights { get; } = weights;

    /// <inheritdoc/>
    protected override void Transform(int index, ReadOnlySpan<float> real, Span<float> dst)
        => Binarizer.Binarize(real, Weights[index].Alphas(real), dst, stochastic);

    /// <inheritdoc/>
    public override void AfterOptimizerStep(TrainingContext ctx)
    {
        if (!clip) return;
        foreach (var b in Weights)
        {
            var w = b.Weight.Span;
            System.Numerics.Tensors.TensorPrimitives.Clamp(w, -b.H, b.H, w);
        }
    }
}

using DeepShrink.Core;

namespace DeepShrink.Compression.Quantization;

/// <summary>
/// Quantisation-aware training of weights (Jacob et al. 2018, sec. 3): every forward and backward pass
/// uses the fake-quantised weights, with ranges from the current float weights (min-max, per channel
/// or per tensor); the gradient updates the float weights.
/// </summary>
public sealed class FakeQuantCallback(IReadOnlyList<Tensor> weights, QuantScheme scheme) : ShadowWeightCallback(weights)
{
    /// <inheritdoc/>
    protected override void Transform(int index, ReadOnlySpan<float> real, Span<float> dst)
        => WeightQuantizer.FakeQuantize(real, dst, WeightQuantizer.Calibrate(real, Tensors[index].Shape[0], scheme));
}

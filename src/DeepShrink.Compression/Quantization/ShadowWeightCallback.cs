using DeepShrink.Core;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Quantization;

/// <summary>
/// Trains with transformed weights (quantised, binarised) while keeping float "shadow" weights:
/// before each forward pass the float weights are saved and replaced by their transformed values;
/// after backward they are restored, so the optimiser applies the gradient computed with the
/// transformed weights to the float ones (the straight-through estimator of
/// BinaryConnect, Courbariaux et al. 2015, Algorithm 1, and of quantisation-aware training).
/// </summary>
public abstract class ShadowWeightCallback : ITrainingCallback
{
    private readonly float[][] _real;
    private bool _swapped;

    /// <summary>Creates the callback over the given weights.</summary>
    protected ShadowWeightCallback(IReadOnlyList<Tensor> weights)
    {
        Tensors = weights;
        _real = weights.Select(w => new float[w.Size]).ToArray();
    }

    /// <summary>The transformed tensors.</summary>
    public IReadOnlyList<Tensor> Tensors { get; }

    /// <summary>Writes the transformed values of weight <paramref name="index"/> (float values in <paramref name="real"/>) into <paramref name="dst"/>.</summary>
    protected abstract void Transform(int index, ReadOnlySpan<float> real, Span<float> dst);

    /// <inheritdoc/>
    public void OnBatchBegin(TrainingContext ctx)
    {
        for (int i = 0; i < Tensors.Count; i++)
        {
            var w = Tensors[i].Span;
            w.CopyTo(_real[i]);
            Transform(i, _real[i], w);
        }
        _swapped = true;
    }

    /// <inheritdoc/>
    public void BeforeOptimizerStep(TrainingContext ctx) => Restore();

    /// <inheritdoc/>
    public virtual void AfterOptimizerStep(TrainingContext ctx) { }

    /// <inheritdoc/>
    public void OnBatchEnd(TrainingContext ctx) => Restore();

    private void Restore()
    {
        if (!_swapped) return;
        for (int i = 0; i < Tensors.Count; i++) _real[i].CopyTo(Tensors[i].Span);
        _swapped = false;
    }
}

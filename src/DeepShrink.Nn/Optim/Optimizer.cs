using DeepShrink.Core;

namespace DeepShrink.Nn.Optim;

/// <summary>Base class of optimisers: holds the parameters and the current learning rate.</summary>
public abstract class Optimizer
{
    /// <summary>Parameters with their dotted names.</summary>
    public IReadOnlyList<(string Name, Tensor Param)> Params { get; }

    /// <summary>Current learning rate (schedules write it).</summary>
    public float LearningRate { get; set; }

    /// <summary>Initial learning rate.</summary>
    public float BaseLearningRate { get; }

    /// <summary>Creates the optimiser.</summary>
    protected Optimizer(IEnumerable<(string Name, Tensor Param)> parameters, float lr)
    {
        if (!(lr > 0f) || float.IsInfinity(lr)) throw new ArgumentOutOfRangeException(nameof(lr), $"learning rate must be positive, got {lr}");
        Params = parameters.ToList();
        LearningRate = BaseLearningRate = lr;
    }

    /// <summary>Applies one update using the parameters' current gradients (parameters without a gradient are skipped).</summary>
    public void Step()
    {
        for (int i = 0; i < Params.Count; i++)
        {
            var p = Params[i].Param;
            if (p.Grad is null) continue;
            Update(i, p.Span, p.Grad.ContiguousData().Span);
        }
    }

    /// <summary>Updates parameter <paramref name="index"/> in place.</summary>
    protected abstract void Update(int index, Span<float> param, ReadOnlySpan<float> grad);

    /// <summary>Clears all gradients.</summary>
    public void ZeroGrad() { foreach (var (_, p) in Params) p.Grad = null; }

    /// <summary>Per-parameter state buffer, created zeroed on first use.</summary>
    protected static float[] State(ref float[]?[] states, int index, int size)
        => states[index] ??= new float[size];
}

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

    /// <summary>Per-parameter state arrays by kind (e.g. <c>velocity</c>), indexed like <see cref="Params"/>; null until used.</summary>
    protected virtual IEnumerable<(string Kind, float[]?[] Buffers)> StateBuffers => [];

    /// <summary>Per-parameter step counts (bias correction), indexed like <see cref="Params"/>, or null when the optimiser keeps none.</summary>
    protected virtual int[]? StepCounts => null;

    /// <summary>
    /// A copy of the optimiser's state (momentum, moments, step counts) for a checkpoint, keyed <c>KIND.PARAMETER</c>
    /// (step counts as one-element arrays under <c>step.PARAMETER</c>); <see cref="LoadState"/> restores it.
    /// </summary>
    public Dictionary<string, float[]> SaveState()
    {
        var d = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (kind, buffers) in StateBuffers)
            for (int i = 0; i < Params.Count; i++)
                if (buffers[i] is { } b) d[$"{kind}.{Params[i].Name}"] = (float[])b.Clone();
        if (StepCounts is { } t)
            for (int i = 0; i < Params.Count; i++)
            {
                if (t[i] > MaxSavedSteps) throw new InvalidOperationException($"{Params[i].Name} has taken {t[i]} steps, more than a checkpoint stores exactly ({MaxSavedSteps})");
                if (t[i] > 0) d[$"step.{Params[i].Name}"] = [t[i]];
            }
        return d;
    }

    // step counts are stored as floats: exact up to 2^24
    private const int MaxSavedSteps = 1 << 24;

    /// <summary>
    /// Restores the state <see cref="SaveState"/> wrote (of an optimiser of the same kind over the same parameters); state
    /// absent from <paramref name="state"/> starts from zero. One-line <see cref="ArgumentException"/> for an unknown key or a
    /// wrong length; nothing is changed then.
    /// </summary>
    public void LoadState(IReadOnlyDictionary<string, float[]> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Params.Count; i++) index[Params[i].Name] = i;
        var kinds = StateBuffers.ToDictionary(k => k.Kind, k => k.Buffers, StringComparer.Ordinal);
        var steps = StepCounts;
        foreach (var (key, value) in state)
        {
            int dot = key.IndexOf('.');
            string kind = dot > 0 ? key[..dot] : "", name = dot > 0 ? key[(dot + 1)..] : key;
            if (!index.TryGetValue(name, out int i) || !(kinds.ContainsKey(kind) || (kind == "step" && steps is not null)))
                throw new ArgumentException($"optimiser state '{key}' does not belong to this {GetType().Name} (kinds: {string.Join(", ", kinds.Keys.Concat(steps is null ? [] : ["step"]))})");
            if (kind == "step" ? value.Length != 1 || !(value[0] >= 1 && value[0] <= MaxSavedSteps && value[0] == MathF.Floor(value[0])) : value.Length != Params[i].Param.Size)
                throw new ArgumentException($"optimiser state '{key}' has {value.Length} values, {Params[i].Name} needs {(kind == "step" ? "one whole step count" : Params[i].Param.Size.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        }
        foreach (var (kind, buffers) in kinds)
            for (int i = 0; i < Params.Count; i++)
                buffers[i] = state.TryGetValue($"{kind}.{Params[i].Name}", out var v) ? (float[])v.Clone() : null;
        if (steps is not null)
            for (int i = 0; i < Params.Count; i++)
                steps[i] = state.TryGetValue($"step.{Params[i].Name}", out var v) ? (int)v[0] : 0;
    }

    /// <summary>Per-parameter state buffer, created zeroed on first use.</summary>
    protected static float[] State(ref float[]?[] states, int index, int size)
        => states[index] ??= new float[size];
}

using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Pruning;

/// <summary>
/// Binary pruning masks kept beside the model (not inside layers), keyed by dotted parameter name.
/// A mask value of 1 keeps the weight, 0 prunes it.
/// </summary>
public sealed class MaskSet
{
    private readonly Dictionary<string, float[]> _masks = new();

    /// <summary>Masked parameter names.</summary>
    public IEnumerable<string> Names => _masks.Keys;

    /// <summary>The mask of a parameter, or null.</summary>
    public float[]? Get(string name) => _masks.TryGetValue(name, out var m) ? m : null;

    /// <summary>Sets (replaces) the mask of a parameter.</summary>
    public void Set(string name, float[] mask) => _masks[name] = mask;

    /// <summary>Removes all masks.</summary>
    public void Clear() => _masks.Clear();

    /// <summary>Zeroes pruned weights of <paramref name="model"/> in place.</summary>
    public void ApplyToWeights(Module model)
    {
        foreach (var (name, p) in model.NamedParameters())
            if (_masks.TryGetValue(name, out var m)) System.Numerics.Tensors.TensorPrimitives.Multiply(p.Span, m, p.Span);
    }

    /// <summary>Zeroes gradients of pruned weights in place.</summary>
    public void ApplyToGradients(Module model)
    {
        foreach (var (name, p) in model.NamedParameters())
            if (p.Grad is not null && _masks.TryGetValue(name, out var m))
            {
                var g = p.Grad.ContiguousData();
                System.Numerics.Tensors.TensorPrimitives.Multiply(g.Span, m, g.Span);
                p.Grad = g;
            }
    }

    /// <summary>Fraction of zeros in a parameter's mask.</summary>
    public double Sparsity(string name)
    {
        var m = _masks[name];
        int zeros = 0;
        foreach (var v in m) if (v == 0f) zeros++;
        return m.Length == 0 ? 0 : (double)zeros / m.Length;
    }

    /// <summary>Number of kept weights in a parameter's mask.</summary>
    public int Kept(string name) => _masks[name].Count(v => v != 0f);

    /// <summary>A mask that keeps weights whose magnitude is at least <paramref name="threshold"/>.</summary>
    public static float[] FromThreshold(ReadOnlySpan<float> weights, float threshold)
    {
        var m = new float[weights.Length];
        for (int i = 0; i < m.Length; i++) m[i] = MathF.Abs(weights[i]) >= threshold && weights[i] != 0f ? 1f : 0f;
        return m;
    }

    /// <summary>Deep copy.</summary>
    public MaskSet Clone()
    {
        var c = new MaskSet();
        foreach (var (k, v) in _masks) c._masks[k] = (float[])v.Clone();
        return c;
    }
}

using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Distributes one global pruning level over layers: every layer is pruned to the largest sparsity whose
/// relative layer-wise error (<see cref="LayerErrorCurve"/>) stays within the same epsilon, so layers whose
/// outputs survive pruning (redundant inputs, OBS compensation) give up more weights. A kept-parameter or
/// file-size budget becomes the smallest epsilon that meets it.
/// </summary>
/// <remarks>
/// Equal relative error is the per-layer normalisation of the OBS saliency: the greedy OBS steps of all layers,
/// each layer's losses divided by its output energy 1/2 sum w^T H w, ranked globally (as OBC/SparseGPT's
/// uniform-error allocation), without per-model constants.
/// </remarks>
public static class GlobalAllocation
{
    /// <summary>Per-parameter sparsity at <paramref name="epsilon"/>.</summary>
    public static Dictionary<string, double> At(IReadOnlyList<LayerErrorCurve> curves, double epsilon, bool gridOnly = false)
        => curves.ToDictionary(c => c.Parameter, c => c.SparsityAt(epsilon, gridOnly));

    /// <summary>
    /// The smallest epsilon whose allocation costs at most <paramref name="budget"/> (cost non-increasing in epsilon),
    /// or null when even the sparsest allocation of the grid costs more.
    /// </summary>
    public static double? Solve(IReadOnlyList<LayerErrorCurve> curves, Func<Dictionary<string, double>, double> cost, double budget)
    {
        double hi = curves.Count == 0 ? 0 : curves.Max(c => c.RelativeError[^1]) * 1.0000001 + 1e-300;
        if (cost(At(curves, hi)) > budget) return null;
        if (cost(At(curves, 0)) <= budget) return 0;
        double lo = 0;
        for (int i = 0; i < 100; i++)
        {
            double mid = lo > 0 ? Math.Sqrt(lo * hi) : hi / 1024;
            if (cost(At(curves, mid)) <= budget) hi = mid; else lo = mid;
            if (lo > 0 && hi / lo < 1 + 1e-9) break;
        }
        return hi;
    }
}

/// <summary>
/// Predicts a compressed model's size before it is trained: non-zeros x (codebook bits + entropy of the
/// relative-index gaps) for pruned tensors, the bias codec for small ones, the graph and per-tensor headers.
/// Conservative: Huffman coding only shortens the value codes, and real gaps cluster below their entropy.
/// </summary>
public sealed class SizeModel
{
    private readonly List<(string Name, Tensor T)> _tensors;
    private readonly SharingSpec? _sharing;
    private readonly double _smallBytesPerValue;
    private readonly double _header;
    private readonly HashSet<string> _params;

    /// <summary>Sizes of <paramref name="model"/> under the sharing and encoder components of <paramref name="recipe"/>.</summary>
    public SizeModel(GraphModule model, Recipe recipe)
    {
        _tensors = model.StateDict().Select(kv => (kv.Key, kv.Value)).ToList();
        _params = model.NamedParameters().Select(p => p.Name).ToHashSet();
        _sharing = recipe.Find<SharingSpec>();
        _smallBytesPerValue = recipe.Find<EncoderSpec>()?.BiasCodec switch { "f16" => 2, "codebook8" => 1, _ => 4 };
        _header = 512 + model.Graph.ToJson().Length + 160.0 * _tensors.Count;
    }

    /// <summary>fp32 bytes of every tensor (the reference of a bytes target and of the ratio).</summary>
    public double DenseBytes => _tensors.Sum(t => 4.0 * t.T.Size);

    /// <summary>All parameters (buffers such as running statistics excluded).</summary>
    public double TotalParams => _tensors.Where(t => _params.Contains(t.Name)).Sum(t => (double)t.T.Size);

    /// <summary>Parameters left non-zero when the named ones are pruned to the given sparsities.</summary>
    public double KeptParams(IReadOnlyDictionary<string, double> sparsity)
        => _tensors.Where(t => _params.Contains(t.Name)).Sum(t => t.T.Size * (1 - (sparsity.TryGetValue(t.Name, out var s) ? s : 0)));

    /// <summary>Codebook bits of a tensor under the recipe's weight sharing, or null when it is not shared.</summary>
    public int? BitsOf(string name, Tensor t)
    {
        if (_sharing is null || t.Rank < 2) return null;
        var rule = LayerRule.First(_sharing.Layers, name);
        if (rule?.Skip ?? false) return null;
        return rule?.Bits ?? (CompressionContext.IsConv(t) ? _sharing.ConvBits : _sharing.FcBits);
    }

    /// <summary>Predicted file bytes.</summary>
    public double Bytes(IReadOnlyDictionary<string, double> sparsity)
    {
        double bytes = _header;
        foreach (var (name, t) in _tensors)
        {
            int? bits = BitsOf(name, t);
            double codebook = bits is int b ? 4.0 * (1 << b) : 0;
            if (sparsity.TryGetValue(name, out var s) && s > 0)
            {
                double d = Math.Max(1 - s, 1e-9);
                bytes += t.Size * d * ((bits ?? 32) + GapBits(d)) / 8 + codebook;
            }
            else bytes += bits is int b2 ? t.Size * b2 / 8.0 + codebook : t.Size * (t.Rank >= 2 ? 4 : _smallBytesPerValue);
        }
        return bytes;
    }

    /// <summary>Entropy in bits per non-zero of geometric gaps at density d (plus 0.1 bit of Huffman overhead).</summary>
    public static double GapBits(double density)
    {
        if (density >= 1) return 0;
        double d = density;
        return (-(1 - d) * Math.Log2(1 - d) - d * Math.Log2(d)) / d + 0.1;
    }
}

using DeepShrink.Compression.Recipes;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;
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
/// Predicts a compressed model's size before it is trained. A tensor the recipe prunes, shares and encodes
/// (pruner, weight-sharing and encoder components) is <em>measured</em> where the weights decide it: its current
/// weights with the smallest magnitudes zeroed to the sparsity are stored as the encoder stores them
/// (relative-index width, Huffman), which prices the index stream of each kept weight and the filler entries; every
/// entry's value code is priced at the codebook width (Huffman only shortens it; retraining changes by how much).
/// Other pruned tensors cost non-zeros x (codebook bits + entropy of geometric relative-index gaps), a bound (real
/// gaps cluster below their entropy); small tensors the bias codec. The file's header is a real (deflated) header of
/// the graph and the tensors' names plus an allowance for the metadata.
/// </summary>
/// <remarks>
/// The earlier size model (geometric gaps everywhere, 160 B per tensor header, the graph JSON raw) over-predicted
/// LeNet-300-100's file by 15 % at a 40x target (26,661 B predicted, 23,163 B written): the target then cost 1.3
/// points more fc1 sparsity than it needed (docs/RESULTS.md, tenth session).
/// </remarks>
public sealed class SizeModel
{
    private readonly List<(string Name, Tensor T)> _tensors;
    private readonly SharingSpec? _sharing;
    private readonly EncoderSpec? _encoder;
    private readonly Dictionary<(string Name, int Grid), double> _bitsPerNonZero = new();
    private readonly Dictionary<string, int[]> _byMagnitude = new(StringComparer.Ordinal);
    private readonly double _smallBytesPerValue;
    private readonly double _header;
    private readonly HashSet<string> _params;

    /// <summary>Sizes of <paramref name="model"/> under the sharing and encoder components of <paramref name="recipe"/>.</summary>
    public SizeModel(GraphModule model, Recipe recipe)
    {
        _tensors = model.StateDict().Select(kv => (kv.Key, kv.Value)).ToList();
        _params = model.NamedParameters().Select(p => p.Name).ToHashSet();
        _sharing = recipe.Find<SharingSpec>();
        _encoder = recipe.Find<EncoderSpec>();
        _smallBytesPerValue = _encoder?.BiasCodec switch { "f16" => 2, "codebook8" => 1, _ => 4 };
        _header = HeaderBytes(model.Graph.ToJson(), _tensors);
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
                bytes += bits is int mb && _encoder is not null
                    ? t.Size * d * MeasuredBitsPerNonZero(name, t, s, mb) / 8 + codebook
                    : t.Size * d * ((bits ?? 32) + GapBits(d)) / 8 + codebook;
            }
            else bytes += bits is int b2 ? t.Size * b2 / 8.0 + codebook : t.Size * (t.Rank >= 2 ? 4 : _smallBytesPerValue);
        }
        return bytes;
    }

    /// <summary>Metadata characters allowed for in the header (source, dataset, normalisation, recipe, accuracies).</summary>
    public const int MetadataAllowance = 512;

    /// <summary>Sparsity resolution of the measured encodings (bits per non-zero vary slowly with the sparsity).</summary>
    public const int MeasureGrid = 1000;

    // The bytes a .dsz spends outside the tensors' blobs: preamble and deflated JSON header, written for real with the
    // graph, every tensor's name and shape (a placeholder blob each) and MetadataAllowance characters of metadata that
    // deflate cannot shrink.
    private static double HeaderBytes(string graphJson, List<(string Name, Tensor T)> tensors)
    {
        var w = new DszWriter().SetGraphJson(graphJson);
        var rng = new Rng(1);
        w.SetMetadata("deepshrink.allowance", new string(Enumerable.Range(0, MetadataAllowance).Select(_ => (char)('!' + rng.NextInt(90))).ToArray()));
        var placeholder = SparseCodebookCodec.Encode([0], [1], [1f], 5, true);
        foreach (var (name, _) in tensors) w.Add(name, placeholder);
        return w.ToArray().Length - tensors.Count * placeholder.Parts.Values.Sum(p => (long)p.Length);
    }

    // Bits per non-zero of the tensor at sparsity s (rounded to 1/MeasureGrid): the positions of the current weights'
    // largest magnitudes encoded with the recipe's encoder settings (index width as the encoder chooses it, Huffman);
    // the index stream as encoded, every entry's value code (fillers included) at the full codebook width.
    private double MeasuredBitsPerNonZero(string name, Tensor t, double s, int bits)
    {
        int grid = (int)Math.Round(s * MeasureGrid);
        if (_bitsPerNonZero.TryGetValue((name, grid), out var cached)) return cached;
        if (!_byMagnitude.TryGetValue(name, out var order))
        {   // sorted once per tensor; every grid point reuses it
            var keys = t.ContiguousData().Span.ToArray();
            for (int i = 0; i < keys.Length; i++) keys[i] = -MathF.Abs(keys[i]);
            order = Enumerable.Range(0, keys.Length).ToArray();
            Array.Sort(keys, order);
            _byMagnitude[name] = order;
        }
        int n = order.Length;
        int keep = Math.Clamp((int)Math.Round(n * (1 - (double)grid / MeasureGrid)), 1, n);
        var assign = new int[n];
        Array.Fill(assign, -1);
        for (int i = 0; i < keep; i++) assign[order[i]] = 0;   // the index stream depends on the positions only
        double best = double.MaxValue;
        foreach (int b in EncoderPhase.IndexWidths(CompressionContext.IsConv(t) ? _encoder!.ConvIndexBits : _encoder!.FcIndexBits))
        {   // as the encoder chooses a width: the smallest index stream plus value codes
            var enc = SparseCodebookCodec.Encode(assign, t.Shape, [1f], b, _encoder.Huffman);
            best = Math.Min(best, 8.0 * enc.Parts["gaps"].Length + enc.Params.GetProperty("entries").GetInt64() * (double)bits);
        }
        double perNonZero = best / keep;
        _bitsPerNonZero[(name, grid)] = perNonZero;
        return perNonZero;
    }

    /// <summary>Entropy in bits per non-zero of geometric gaps at density d (plus 0.1 bit of Huffman overhead).</summary>
    public static double GapBits(double density)
    {
        if (density >= 1) return 0;
        double d = density;
        return (-(1 - d) * Math.Log2(1 - d) - d * Math.Log2(d)) / d + 0.1;
    }
}

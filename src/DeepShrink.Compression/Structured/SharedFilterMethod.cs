using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Core.Kernels;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Structured;

/// <summary>
/// Transferred filters as a recipe component: <c>type: crelu</c> (each stored filter also acts negated, Shang et
/// al. 2016) or <c>type: orbit-shared</c> with <c>group: p4 | p4m</c> (each stored filter acts in all its 4 / 8
/// rotations and mirror images, Cohen and Welling 2016). At its epoch every covered convolution (groups 1, square
/// kernel, filters a multiple of the group order) becomes a <c>shared_conv2d</c> node initialised by
/// <see cref="FilterMatching"/>; the following epochs fine-tune the stored filters.
/// </summary>
/// <param name="Name">Component name.</param>
/// <param name="Type">crelu or orbit-shared.</param>
/// <param name="Sharing">Negation, p4 or p4m.</param>
/// <param name="Layers">Rules over weight names (a matching rule overrides the automatic choice).</param>
/// <param name="MinReduction">
/// <c>keep_dense: auto</c> with <c>min_reduction: r</c> (null: convert every eligible layer): the eligible
/// convolutions' parameters must shrink at least r-fold overall, and the layers whose conversion costs most per
/// parameter saved stay dense (<see cref="SharedLayerChoice.ChooseConverted"/>); the cost of a layer is the
/// calibration-loss increase when only its weight is replaced by its projected expansion (the spatial form: alone, a
/// layer has no converted input whose orbits a group convolution could permute).
/// </param>
/// <param name="Calibration">Training images the calibration loss is measured on (auto only).</param>
/// <param name="GroupInputs">
/// <c>orbit_inputs: permute</c>: a converted convolution whose input is the output of another converted one (through
/// per-channel ops only: batch norm, pooling, elementwise activations) becomes a group convolution (Cohen and Welling
/// 2016's hidden layers): each filter's group element also permutes the input orbits (<c>input_order</c>), so the
/// layers stay equivariant together. <c>spatial</c> (the default): every layer only rotates / mirrors its filters.
/// </param>
public sealed record SharedFilterSpec(string Name, string Type, FilterSharing Sharing, IReadOnlyList<LayerRule> Layers,
    double? MinReduction = null, int Calibration = 1024, bool GroupInputs = false) : ComponentSpec(Name, Type)
{
    /// <inheritdoc/>
    public override ICompressionMethod CreateMethod(Recipe recipe, double budgetPp) => new SharedFilterMethod(this);

    internal static ComponentSpec ParseCrelu(string name, YamlMap m) => new SharedFilterSpec(name, "crelu", FilterSharing.Negation, RecipeLoader.ParseRules(m, false, false));

    internal static ComponentSpec ParseOrbit(string name, YamlMap m)
    {
        var g = m.Str("group", "p4")!;
        if (g is not ("p4" or "p4m")) throw m.Error("group", $"must be p4 or p4m, got '{g}'");
        var sharing = SharedFilterMap.Parse(g);
        double? minReduction = null;
        int calibration = 1024;
        switch (m.Str("keep_dense", "none"))
        {
            case "none":
                if (m.Has("min_reduction") || m.Has("calibration"))
                    throw m.Error(m.Has("min_reduction") ? "min_reduction" : "calibration", "applies only with keep_dense: auto");
                break;
            case "auto":
                int order = SharedFilterMap.Multiplicity(sharing);
                minReduction = m.Num("min_reduction", 2, 1, order);
                calibration = m.Int("calibration", 1024, 16, 1_000_000);
                break;
            case var x: throw m.Error("keep_dense", $"must be none or auto, got '{x}'");
        }
        bool groupInputs = m.Str("orbit_inputs", "spatial") switch
        {
            "spatial" => false,
            "permute" => true,
            var x => throw m.Error("orbit_inputs", $"must be spatial or permute, got '{x}'"),
        };
        return new SharedFilterSpec(name, "orbit-shared", sharing, RecipeLoader.ParseRules(m, false, false), minReduction, calibration, groupInputs);
    }
}

/// <summary>Runs a <see cref="SharedFilterSpec"/> (see there).</summary>
internal sealed class SharedFilterMethod(SharedFilterSpec spec) : ICompressionMethod
{
    public string Name => spec.Name;
    public int Order => 50;
    public bool ResetsOptimizer => true;

    public void Apply(CompressionContext ctx, int epoch, int step, int steps)
    {
        if (step != 1) return;
        int g = SharedFilterMap.Multiplicity(spec.Sharing);
        var kept = spec.MinReduction is { } r ? ChooseKept(ctx, r) : null;
        var source = spec.GroupInputs && spec.Sharing != FilterSharing.Negation ? ChannelSources(ctx.Model.ToGraph()) : null;
        var orders = new Dictionary<string, int[]>(StringComparer.Ordinal);   // converted layer output -> its order
        StructuredRewrite.Apply(ctx, spec.Type, "conv2d", spec.Layers, (n, state, _) =>
        {
            var w = state[n.Params["weight"]];
            var a = ConvAttrs.Of(n);
            if (!Eligible(w, a, g)) return null;
            int[]? inputOrder = null;
            if (source is not null && orders.TryGetValue(source.GetValueOrDefault(n.Inputs[0], n.Inputs[0]), out var io) && io.Length == w.Shape[1])
                inputOrder = io;
            var bias = n.Params.TryGetValue("bias", out var bn) ? state[bn] : null;
            var (order, stored, storedBias) = FilterMatching.Match(w, bias, spec.Sharing, inputOrder);
            StructuredRewrite.Drop(n, state);
            var node = StructuredRewrite.Node(n.Name, StructuredOps.SharedConv, n.Inputs[0], n.Output, state, stored, storedBias);
            SharedConvAttrs.WriteTo(node, spec.Sharing, order, a, inputOrder);
            orders[n.Output] = order;
            return new NodeReplacement([node], $"{n.Name} {SharedFilterMap.Name(spec.Sharing)}{(inputOrder is null ? "" : " group conv")}: {StructuredRewrite.Params(w.Size, stored.Size)}");
        }, kept is null ? null : _ => kept);
    }

    /// <summary>
    /// For every value computed from one layer output by per-channel single-input ops only (batch norm, max / average
    /// pooling, elementwise activations), that layer output: its channels are the layer's channels in the same order.
    /// </summary>
    internal static Dictionary<string, string> ChannelSources(ModelGraph graph)
    {
        var source = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var n in graph.Nodes)
        {
            if (n.Inputs.Count != 1 || n.Outputs.Count != 1) continue;
            bool perChannel = n.Op is "batchnorm" or "maxpool2d" or "avgpool2d" || OpSchemas.TryGet(n.Op) is { Elementwise: true };
            if (perChannel) source[n.Output] = source.GetValueOrDefault(n.Inputs[0], n.Inputs[0]);
        }
        return source;
    }

    private static bool Eligible(Tensor w, ConvAttrs a, int g) => a.Groups == 1 && w.Rank == 4 && w.Shape[2] == w.Shape[3] && w.Shape[0] % g == 0;

    /// <summary>
    /// keep_dense: auto: measures each eligible layer's calibration-loss increase with its weight replaced by the
    /// expansion of its projection (the other layers unchanged) and keeps dense the layers <see cref="SharedLayerChoice.ChooseConverted"/> leaves out.
    /// </summary>
    private Dictionary<string, string> ChooseKept(CompressionContext ctx, double minReduction)
    {
        int g = SharedFilterMap.Multiplicity(spec.Sharing);
        var graph = ctx.Model.ToGraph();
        var weights = ctx.Model.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        var candidates = new List<(string Name, Tensor W, long Params, long Stored)>();
        foreach (var n in graph.Nodes)
        {
            if (n.Op != "conv2d" || !n.Params.TryGetValue("weight", out var wn) || n.HasInputTransform) continue;
            if (LayerRule.First(spec.Layers, wn) is not null) continue;   // a rule decides this layer
            var w = weights[wn];
            if (!Eligible(w, ConvAttrs.Of(n), g)) continue;
            candidates.Add((n.Name, w, w.Size, w.Size / g));
        }
        var kept = new Dictionary<string, string>(StringComparer.Ordinal);
        if (candidates.Count == 0) return kept;
        var batches = new List<(Tensor X, int[] Y)>();
        int seen = 0;
        foreach (var b in ctx.TrainBatches(0))
        {
            batches.Add(b);
            seen += b.Y.Length;
            if (seen >= spec.Calibration) break;
        }
        double baseline = Trainer.Evaluate(ctx.Model, batches).Loss;
        var costs = new double[candidates.Count];
        for (int i = 0; i < candidates.Count; i++)
        {
            var (_, w, _, _) = candidates[i];
            var (order, stored, _) = FilterMatching.Match(w, null, spec.Sharing);
            var full = SharedFilterMap.Weight(stored.Shape[0], w.Shape[1], w.Shape[2], spec.Sharing, order).Apply(stored.ToArray());
            var saved = w.ToArray();
            try
            {
                full.CopyTo(w.Span);
                costs[i] = Trainer.Evaluate(ctx.Model, batches).Loss - baseline;
            }
            finally { saved.CopyTo(w.Span); }
        }
        var convert = SharedLayerChoice.ChooseConverted(candidates.Select(c => c.Params).ToArray(), candidates.Select(c => c.Stored).ToArray(), costs, minReduction);
        long before = candidates.Sum(c => c.Params), after = 0;
        var lines = new List<string>();
        for (int i = 0; i < candidates.Count; i++)
        {
            after += convert[i] ? candidates[i].Stored : candidates[i].Params;
            lines.Add($"{candidates[i].Name} {costs[i]:+0.0000;-0.0000} ({(convert[i] ? "convert" : "dense")})");
            if (!convert[i]) kept[candidates[i].Name] = $"calibration loss {costs[i]:+0.0000;-0.0000} if converted alone; keep_dense: auto";
        }
        ctx.Log($"{spec.Name}: keep_dense auto (calibration loss increase per layer, {seen} images): {string.Join(", ", lines)}; "
            + $"eligible convs {before:N0} -> {after:N0} params ({(double)before / Math.Max(1, after):F2}x, min_reduction {minReduction})");
        return kept;
    }
}

/// <summary>The automatic choice of <c>keep_dense: auto</c> (<see cref="SharedFilterSpec.MinReduction"/>).</summary>
public static class SharedLayerChoice
{
    /// <summary>
    /// Which layers to convert so that the total parameters shrink at least <paramref name="minReduction"/>-fold at the
    /// least summed cost: greedily the layers with the least cost per parameter saved until the reduction is reached,
    /// then, most costly first, any converted layer the reduction does not need is kept dense again. All layers when
    /// even converting all cannot reach the reduction.
    /// </summary>
    public static bool[] ChooseConverted(long[] dense, long[] stored, double[] cost, double minReduction)
    {
        int n = dense.Length;
        long total = dense.Sum();
        var convert = new bool[n];
        long Current() { long s = 0; for (int i = 0; i < n; i++) s += convert[i] ? stored[i] : dense[i]; return s; }
        bool Reached() => total >= minReduction * Current() - 1e-9;
        var byRatio = Enumerable.Range(0, n).Where(i => dense[i] > stored[i])
            .OrderBy(i => cost[i] / (dense[i] - stored[i])).ThenBy(i => i).ToList();
        foreach (int i in byRatio)
        {
            if (Reached()) break;
            convert[i] = true;
        }
        if (!Reached()) { Array.Fill(convert, true); return convert; }
        foreach (int i in Enumerable.Range(0, n).Where(i => convert[i]).OrderByDescending(i => cost[i]).ToList())
        {
            convert[i] = false;
            if (!Reached()) convert[i] = true;
        }
        return convert;
    }
}

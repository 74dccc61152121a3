using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Recipes;

namespace DeepShrink.Compression.Pruning.Channels;

/// <summary>
/// Structured (filter / channel) pruning with physical removal as a recipe component (<c>type: channel-pruning</c>).
/// See docs/RECIPES.md and <see cref="ChannelPruningMethod"/>.
/// </summary>
/// <param name="Name">Component name.</param>
/// <param name="Criterion">One of <see cref="ChannelImportance.Criteria"/>.</param>
/// <param name="Target">What the budget counts: <c>params</c>, <c>flops</c> or <c>latency</c> (batch 1, measured by the
/// deployment runtime on this machine: <see cref="ILatencyMeter"/>).</param>
/// <param name="Keep">Fraction of the input model's parameters, FLOPs or latency to keep, in (0, 1].</param>
/// <param name="MaxLayerPrune">At most this fraction of any group's channels is removed (at least one channel always stays).</param>
/// <param name="SlimmingL1">Network slimming: L1 penalty (proximal step lr x lambda) on every batch-norm scale from the
/// first epoch until the last pruning step (0: off).</param>
/// <param name="CalibrationBatches">Training batches for the data-driven criteria (taylor, reconstruction).</param>
/// <param name="MaxDropPp">Accuracy budget in percentage points (CLI <c>--max-drop</c> overrides).</param>
/// <param name="Layers">Rules over node names: <c>skip: true</c> keeps a layer's output channels.</param>
/// <param name="ChannelMultiple">Each group keeps a multiple of this many channel units (1: any count; 8 or 16 suit
/// vector kernels, e.g. ONNX Runtime's NCHWc convolutions); reached by removing more, never fewer.</param>
public sealed record ChannelPruningSpec(string Name, string Criterion, string Target, double Keep, double MaxLayerPrune,
    double SlimmingL1, int CalibrationBatches, double MaxDropPp, IReadOnlyList<LayerRule> Layers, int ChannelMultiple = 1)
    : ComponentSpec(Name, TypeName)
{
    /// <summary>The recipe type.</summary>
    public const string TypeName = "channel-pruning";

    /// <summary>What a target can count: parameters, FLOPs (MACs) or batch-1 latency in the deployment runtime.</summary>
    public static readonly string[] Kinds = ["params", "flops", "latency"];

    /// <inheritdoc/>
    public override ICompressionMethod CreateMethod(Recipe recipe, double budgetPp)
        => new ChannelPruningMethod(this with { MaxDropPp = budgetPp });

    internal static ComponentSpec Parse(string name, YamlMap m)
    {
        var criterion = m.Str("criterion", "l1")!;
        if (!ChannelImportance.Criteria.Contains(criterion)) throw m.Error("criterion", $"must be one of {string.Join(", ", ChannelImportance.Criteria)}, got '{criterion}'");
        var target = m.Map("target") ?? throw m.Error("target", "is required: {params: F}, {flops: F} or {latency: F}, the fraction of the input model to keep");
        var kinds = Kinds.Where(target.Has).ToList();
        if (kinds.Count != 1) throw target.Error(kinds.Count == 0 ? "params" : kinds[1], "give exactly one of params, flops and latency");
        string kind = kinds[0];
        double keep = target.Num(kind, 0.5, 1e-6, 1);
        target.EnsureAllUsed();
        double slim = m.Num("slimming_l1", 0, 0, 10);
        if (slim > 0 && criterion != "bn-scale") throw m.Error("slimming_l1", "applies to criterion bn-scale (network slimming) only");
        return new ChannelPruningSpec(name, criterion, kind, keep, m.Num("max_layer_prune", 0.9, 0, 1), slim,
            m.Int("calibration_batches", 8, 1, 10_000), m.Num("max_drop", 0.5, 0, 100), RecipeLoader.ParseRules(m, false, false),
            m.Int("channel_multiple", 1, 1, 1024));
    }
}

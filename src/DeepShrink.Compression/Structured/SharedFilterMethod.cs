using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Core.Kernels;

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
/// <param name="Layers">Rules over weight names.</param>
public sealed record SharedFilterSpec(string Name, string Type, FilterSharing Sharing, IReadOnlyList<LayerRule> Layers) : ComponentSpec(Name, Type)
{
    /// <inheritdoc/>
    public override ICompressionMethod CreateMethod(Recipe recipe, double budgetPp) => new SharedFilterMethod(this);

    internal static ComponentSpec ParseCrelu(string name, YamlMap m) => new SharedFilterSpec(name, "crelu", FilterSharing.Negation, RecipeLoader.ParseRules(m, false, false));

    internal static ComponentSpec ParseOrbit(string name, YamlMap m)
    {
        var g = m.Str("group", "p4")!;
        if (g is not ("p4" or "p4m")) throw m.Error("group", $"must be p4 or p4m, got '{g}'");
        return new SharedFilterSpec(name, "orbit-shared", SharedFilterMap.Parse(g), RecipeLoader.ParseRules(m, false, false));
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
        StructuredRewrite.Apply(ctx, spec.Type, "conv2d", spec.Layers, (n, state, _) =>
        {
            var w = state[n.Params["weight"]];
            var a = ConvAttrs.Of(n);
            if (a.Groups != 1 || w.Shape[2] != w.Shape[3] || w.Shape[0] % g != 0) return null;
            var bias = n.Params.TryGetValue("bias", out var bn) ? state[bn] : null;
            var (order, stored, storedBias) = FilterMatching.Match(w, bias, spec.Sharing);
            StructuredRewrite.Drop(n, state);
            var node = StructuredRewrite.Node(n.Name, StructuredOps.SharedConv, n.Inputs[0], n.Output, state, stored, storedBias);
            SharedConvAttrs.WriteTo(node, spec.Sharing, order, a);
            return new NodeReplacement([node], $"{n.Name} {SharedFilterMap.Name(spec.Sharing)}: {StructuredRewrite.Params(w.Size, stored.Size)}");
        });
    }
}

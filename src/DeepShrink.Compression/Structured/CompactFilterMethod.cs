using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Compression.Structured;

/// <summary>
/// Compact filters as a recipe component: <c>type: depthwise-separable</c> replaces each covered k x k convolution
/// (k &gt; 1, groups 1) by a depthwise k x k convolution and a 1x1 pointwise one; <c>type: fire</c> by a SqueezeNet
/// fire module (1x1 squeeze to <c>squeeze_ratio</c> C channels, then 1x1 and k x k expands concatenated, the 1x1
/// part <c>expand1x1_ratio</c> of the outputs). Both are initialised from the trained layer
/// (<see cref="CompactFilters"/>) and fine-tuned after (compose with <c>distillation</c>); a layer the replacement
/// would not make smaller is kept.
/// </summary>
/// <param name="Name">Component name.</param>
/// <param name="Type">depthwise-separable or fire.</param>
/// <param name="SqueezeRatio">fire: squeeze channels = ceil(ratio C).</param>
/// <param name="Expand1Ratio">fire: 1x1 expand channels = floor(ratio O).</param>
/// <param name="Layers">Rules over weight names.</param>
public sealed record CompactFilterSpec(string Name, string Type, double SqueezeRatio, double Expand1Ratio, IReadOnlyList<LayerRule> Layers) : ComponentSpec(Name, Type)
{
    /// <inheritdoc/>
    public override ICompressionMethod CreateMethod(Recipe recipe, double budgetPp) => new CompactFilterMethod(this);

    internal static ComponentSpec ParseDepthwise(string name, YamlMap m) => new CompactFilterSpec(name, "depthwise-separable", 0, 0, RecipeLoader.ParseRules(m, false, false));

    internal static ComponentSpec ParseFire(string name, YamlMap m) =>
        new CompactFilterSpec(name, "fire", m.Num("squeeze_ratio", 0.25, 1e-6, 1), m.Num("expand1x1_ratio", 0.5, 0, 0.99), RecipeLoader.ParseRules(m, false, false));
}

/// <summary>Runs a <see cref="CompactFilterSpec"/> (see there).</summary>
internal sealed class CompactFilterMethod(CompactFilterSpec spec) : ICompressionMethod
{
    public string Name => spec.Name;
    public int Order => 50;
    public bool ResetsOptimizer => true;

    public void Apply(CompressionContext ctx, int epoch, int step, int steps)
    {
        if (step != 1) return;
        StructuredRewrite.Apply(ctx, spec.Type, "conv2d", spec.Layers, (n, state, _) =>
        {
            var w = state[n.Params["weight"]];
            var a = ConvAttrs.Of(n);
            if (a.Groups != 1 || (w.Shape[2] == 1 && w.Shape[3] == 1)) return null;
            var bias = n.Params.TryGetValue("bias", out var bn) ? state[bn] : null;
            return spec.Type == "fire" ? Fire(n, w, bias, a, state) : Depthwise(n, w, bias, a, state);
        });
    }

    private static NodeReplacement? Depthwise(GraphNode n, Tensor w, Tensor? bias, ConvAttrs a, Dictionary<string, Tensor> state)
    {
        int o = w.Shape[0], c = w.Shape[1];
        long after = (long)c * w.Shape[2] * w.Shape[3] + (long)o * c;
        if (after >= w.Size) return null;
        var (dw, pw) = CompactFilters.DepthwiseSeparable(w);
        StructuredRewrite.Drop(n, state);
        var d = StructuredRewrite.Node(n.Name + ".dw", "conv2d", n.Inputs[0], n.Name + ".dw.out", state, dw, null);
        (a with { Groups = c }).WriteTo(d);
        var p = StructuredRewrite.Node(n.Name + ".pw", "conv2d", d.Output, n.Output, state, pw, bias);
        new ConvAttrs(1, 1, 0, 0, 1, 1, 1).WriteTo(p);
        return new NodeReplacement([d, p], $"{n.Name} depthwise {w.Shape[2]}x{w.Shape[3]} + pointwise: {StructuredRewrite.Params(w.Size, after)}");
    }

    private NodeReplacement? Fire(GraphNode n, Tensor w, Tensor? bias, ConvAttrs a, Dictionary<string, Tensor> state)
    {
        int o = w.Shape[0], c = w.Shape[1], kh = w.Shape[2], kw = w.Shape[3];
        // the 1x1 expand must give the k x k expand's output size: odd kernels, no dilation, enough padding
        if (kh % 2 == 0 || kw % 2 == 0 || a.DilationH != 1 || a.DilationW != 1 || a.PadH < kh / 2 || a.PadW < kw / 2) return null;
        int s = Math.Max(1, (int)Math.Ceiling(spec.SqueezeRatio * c)), ones = (int)Math.Floor(spec.Expand1Ratio * o);
        long after = (long)s * c + (long)ones * s + (long)(o - ones) * s * kh * kw;
        if (after >= w.Size || s > c) return null;
        var (sq, e1, e3) = CompactFilters.Fire(w, s, ones);
        Tensor? b1 = null, b3 = null;
        if (bias is not null)
        {
            var bb = bias.ToArray();
            b1 = new Tensor(bb[..ones], ones);
            b3 = new Tensor(bb[ones..], o - ones);
        }
        StructuredRewrite.Drop(n, state);
        var nodes = new List<GraphNode>();
        var squeeze = StructuredRewrite.Node(n.Name + ".squeeze", "conv2d", n.Inputs[0], n.Name + ".squeeze.out", state, sq, null);
        new ConvAttrs(1, 1, 0, 0, 1, 1, 1).WriteTo(squeeze);
        nodes.Add(squeeze);
        var parts = new List<string>();
        if (ones > 0)
        {
            var x1 = StructuredRewrite.Node(n.Name + ".expand1", "conv2d", squeeze.Output, n.Name + ".expand1.out", state, e1, b1);
            new ConvAttrs(a.StrideH, a.StrideW, a.PadH - kh / 2, a.PadW - kw / 2, 1, 1, 1).WriteTo(x1);
            nodes.Add(x1); parts.Add(x1.Output);
        }
        var x3 = StructuredRewrite.Node(n.Name + ".expand3", "conv2d", squeeze.Output, ones > 0 ? n.Name + ".expand3.out" : n.Output, state, e3, b3);
        (a with { Groups = 1 }).WriteTo(x3);
        nodes.Add(x3);
        if (ones > 0)
        {
            parts.Add(x3.Output);
            var cat = new GraphNode { Name = n.Name, Op = "concat", Inputs = parts, Output = n.Output };
            cat.Attrs["axis"] = 1;
            nodes.Add(cat);
        }
        return new NodeReplacement(nodes, $"{n.Name} fire squeeze {s}, expand {ones} 1x1 + {o - ones} {kh}x{kw}: {StructuredRewrite.Params(w.Size, after)}");
    }
}

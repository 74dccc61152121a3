using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Compression.Structured;

/// <summary>
/// Circulant / block-circulant fully connected layers as a recipe component (<c>type: circulant</c>): at its
/// epoch every covered linear layer becomes a <c>circulant_linear</c> node whose defining vectors are the
/// least-squares projection of the trained weight (<see cref="CirculantProjection.ProjectPadded"/>); the following
/// epochs fine-tune them (compose with <c>distillation</c> to learn from the original model).
/// </summary>
/// <param name="Name">Component name.</param>
/// <param name="BlockSize">Block size b, or 0 for one circulant block of size max(in, out) (Cheng et al. 2015).</param>
/// <param name="Signs">Random +-1 input signs D (seeded per layer from <paramref name="Seed"/>).</param>
/// <param name="Seed">Seed of the signs.</param>
/// <param name="Layers">Rules over weight names (<c>skip: true</c> keeps a layer dense); a matching rule overrides <paramref name="KeepInputLayers"/>.</param>
/// <param name="KeepInputLayers">
/// <c>input_layers: dense</c> (the default for <c>block_size: full</c>): a linear layer that reads the network input
/// (<see cref="ModelGraph.LayersOnInput"/>: no weighted layer on any path from the graph input to it) stays dense;
/// <c>convert</c> (the default for a numeric block size) converts it like the others.
/// </param>
/// <remarks>
/// Cheng et al. (2015), "An exploration of parameter redundancy in deep networks with circulant projections", replace
/// the fully connected layers that follow a feature extractor; an MLP's input layer is its only feature extractor and
/// one circulant projection of it (e.g. 784 -> 300: 784 parameters) cannot carry it (docs/RESULTS.md, issue 16).
/// </remarks>
public sealed record CirculantSpec(string Name, int BlockSize, bool Signs, int Seed, IReadOnlyList<LayerRule> Layers, bool KeepInputLayers = false)
    : ComponentSpec(Name, "circulant")
{
    /// <inheritdoc/>
    public override ICompressionMethod CreateMethod(Recipe recipe, double budgetPp) => new CirculantMethod(this);

    internal static ComponentSpec Parse(string name, YamlMap m)
    {
        int b = 0;
        if (m.Str("block_size", "full") != "full")
        {
            b = m.Int("block_size", 0, 2, FftPlan.MaxSize);
            if (!FftPlan.IsSupportedSize(b)) throw m.Error("block_size", $"{b} is not supported by the FFT (a power of two up to {FftPlan.MaxSize}, or up to {FftPlan.MaxBluesteinSize})");
        }
        bool keepInput = m.Str("input_layers", b == 0 ? "dense" : "convert") switch
        {
            "dense" => true,
            "convert" => false,
            var x => throw m.Error("input_layers", $"must be dense or convert, got '{x}'"),
        };
        return new CirculantSpec(name, b, m.Bool("signs", false), m.Int("seed", 0, 0, int.MaxValue / 2), RecipeLoader.ParseRules(m, false, false), keepInput);
    }
}

/// <summary>Runs a <see cref="CirculantSpec"/> (see there).</summary>
internal sealed class CirculantMethod(CirculantSpec spec) : ICompressionMethod
{
    public string Name => spec.Name;
    public int Order => 50;
    public bool ResetsOptimizer => true;

    public void Apply(CompressionContext ctx, int epoch, int step, int steps)
    {
        if (step != 1) return;
        int index = 0;
        StructuredRewrite.Apply(ctx, "circulant", "linear", spec.Layers, (n, state, _) =>
        {
            var w = state[n.Params["weight"]];
            int outF = w.Shape[0], inF = w.Shape[1];
            int b = spec.BlockSize == 0 ? Math.Max(inF, outF) : spec.BlockSize;
            if (b > Math.Max(inF, outF))
                throw new InvalidOperationException($"recipe component '{spec.Name}': block_size {b} is larger than layer {n.Name} ({outF} x {inF}); "
                    + $"use a block size up to {Math.Max(inF, outF)}, block_size: full, or skip the layer");
            if (!FftPlan.IsSupportedSize(b)) return null;
            var shape = new BlockCirculantShape((outF + b - 1) / b, (inF + b - 1) / b, b);
            if (shape.Parameters >= (long)outF * inF) return null;
            long seed = spec.Signs ? spec.Seed + index++ : -1;
            var signs = seed < 0 ? [] : Ops.RandomSigns(shape.In, (ulong)seed).ToArray();
            var blocks = CirculantProjection.ProjectPadded(w, shape, signs);
            var bias = n.Params.TryGetValue("bias", out var bn) ? state[bn] : null;
            StructuredRewrite.Drop(n, state);
            var node = StructuredRewrite.Node(n.Name, StructuredOps.Circulant, n.Inputs[0], n.Output, state, blocks, bias);
            node.Attrs["input_features"] = inF;
            node.Attrs["out_features"] = outF;
            if (seed >= 0) node.Attrs["sign_seed"] = (double)seed;
            return new NodeReplacement([node], $"{n.Name} {shape}: {StructuredRewrite.Params((long)outF * inF, shape.Parameters)}");
        }, spec.KeepInputLayers ? g => g.LayersOnInput().ToDictionary(l => l, _ => "reads the network input; input_layers: dense") : null);
    }
}

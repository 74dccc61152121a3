using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Quantization;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Nn;

namespace DeepShrink.Compression.LowRank;

/// <summary>
/// Low-rank factorisation as a recipe component (<c>type: low-rank</c>): at its epoch every covered
/// linear layer becomes two linears (truncated SVD) and every covered convolution the layer sequence
/// of its method (Tucker-2, CP or spatial SVD), with ranks chosen by energy; the graph is replaced
/// and the following epochs fine-tune the factors. The factor layers are ordinary graph nodes named
/// <c>{layer}.f0</c>, <c>{layer}.f1</c>, ..., so they train, prune, quantise, export and run like any other.
/// </summary>
/// <param name="Name">Component name.</param>
/// <param name="LinearMethod"><c>svd</c> or <c>none</c>.</param>
/// <param name="ConvMethod"><c>tucker2</c>, <c>spatial-svd</c> or <c>none</c> (CP chooses its rank by a budget, not by energy: not yet a recipe option).</param>
/// <param name="Energy">Fraction of the squared singular values (of each mode) kept.</param>
/// <param name="Layers">Rules over weight names (<c>skip: true</c> keeps a layer dense).</param>
public sealed record LowRankSpec(string Name, string LinearMethod, string ConvMethod, double Energy, IReadOnlyList<LayerRule> Layers)
    : ComponentSpec(Name, "low-rank")
{
    /// <inheritdoc/>
    public override ICompressionMethod CreateMethod(Recipe recipe, double budgetPp) => new LowRankMethod(this);

    internal static ComponentSpec Parse(string name, YamlMap m)
    {
        var lin = m.Str("linear", "svd")!;
        if (lin is not ("svd" or "none")) throw m.Error("linear", $"must be svd or none, got '{lin}'");
        var conv = m.Str("conv", "tucker2")!;
        if (conv is not ("tucker2" or "spatial-svd" or "none")) throw m.Error("conv", $"must be tucker2, spatial-svd or none, got '{conv}' (cp needs a rank budget, not yet a recipe option)");
        return new LowRankSpec(name, lin, conv, m.Num("energy", 0.9, 1e-6, 1), RecipeLoader.ParseRules(m, false, false));
    }
}

/// <summary>Runs a <see cref="LowRankSpec"/> (see there).</summary>
internal sealed class LowRankMethod(LowRankSpec spec) : ICompressionMethod
{
    public string Name => spec.Name;
    public int Order => 50; // before pruning and sharing, which then see the factor layers
    public bool ResetsOptimizer => true;

    public void Apply(CompressionContext ctx, int epoch, int step, int steps)
    {
        if (step != 1) return;
        var graph = ctx.Model.ToGraph();
        var state = ctx.Model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ContiguousData());
        GraphAnalysis.Analyze(graph, t => state.TryGetValue(t, out var v) ? v.Shape : null, out var shapes);
        var nodes = new List<GraphNode>();
        var report = new List<string>();
        foreach (var n in graph.Nodes)
        {
            var method = n.Op == "linear" ? spec.LinearMethod : n.Op == "conv2d" ? spec.ConvMethod : "none";
            var weightName = n.Params.GetValueOrDefault("weight");
            if (method == "none" || weightName is null || (LayerRule.First(spec.Layers, weightName)?.Skip ?? false)
                || n.Attrs.Keys.Any(k => k.StartsWith("in_", StringComparison.Ordinal)))
            {
                nodes.Add(n);
                continue;
            }
            var f = LowRankDecomposer.Decompose(Layer(n, state), new LowRankOptions
            {
                Method = method, Energy = spec.Energy,
                InputSize = n.Op == "conv2d" ? (shapes[n.Inputs[0]][1], shapes[n.Inputs[0]][2]) : (1, 1),
            });
            if (f.Parameters >= f.Original.Parameters) { nodes.Add(n); report.Add($"{n.Name} kept (rank {string.Join("/", f.Ranks)} saves nothing)"); continue; }
            foreach (var r in n.Params.Values) state.Remove(r);
            string value = n.Inputs[0];
            for (int i = 0; i < f.Layers.Count; i++)
            {
                var l = f.Layers[i];
                var name = $"{n.Name}.f{i}";
                var node = new GraphNode
                {
                    Name = name, Op = l.Op, Inputs = [value], Output = i == f.Layers.Count - 1 ? n.Output : $"{name}.out",
                    Params = new Dictionary<string, string>(StringComparer.Ordinal) { ["weight"] = name + ".weight" },
                };
                if (!l.IsLinear)
                    new ConvAttrs(l.Stride.H, l.Stride.W, l.Padding.H, l.Padding.W, l.Dilation.H, l.Dilation.W, l.Groups).WriteTo(node);
                state[name + ".weight"] = new Tensor(l.Weight, l.WeightShape);
                if (l.Bias is not null)
                {
                    node.Params["bias"] = name + ".bias";
                    state[name + ".bias"] = new Tensor(l.Bias, l.Bias.Length);
                }
                nodes.Add(node);
                value = node.Output;
            }
            report.Add($"{n.Name} {f.Method} ranks {string.Join("/", f.Ranks)}: {f.Original.Parameters:N0} -> {f.Parameters:N0} params, error {f.RelativeError:F3}");
        }
        graph.Nodes = nodes;
        ctx.ReplaceModel(GraphLayers.FromTensors(graph, state, InputHooks.Factories));
        ctx.Log("low-rank: " + string.Join("; ", report));
    }

    private static FactorLayer Layer(GraphNode n, Dictionary<string, Tensor> state)
    {
        var w = state[n.Params["weight"]];
        var b = n.Params.TryGetValue("bias", out var bn) ? state[bn].ToArray() : null;
        if (n.Op == "linear") return FactorLayer.Linear(w.ToArray(), w.Shape[0], w.Shape[1], b);
        var a = ConvAttrs.Of(n);
        return FactorLayer.Conv(w.ToArray(), w.Shape, b, (a.StrideH, a.StrideW), (a.PadH, a.PadW), (a.DilationH, a.DilationW), a.Groups);
    }
}

using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Quantization;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Nn;
using DeepShrink.Nn.Training;

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
/// <param name="ConvMethod"><c>tucker2</c>, <c>cp</c> (needs a <paramref name="Target"/>), <c>spatial-svd</c> or <c>none</c>.</param>
/// <param name="Energy">Fraction of the squared singular values (of each mode) kept, when there is no target.</param>
/// <param name="Layers">Rules over weight names (<c>skip: true</c> keeps a layer dense).</param>
/// <param name="Target">One budget for the whole network (<c>target: {flops: 0.33}</c> or <c>{params: 0.2}</c>), distributed by <paramref name="Allocation"/>; null: ranks by energy.</param>
/// <param name="Allocation"><c>global</c> (<see cref="GlobalRankAllocator"/> over measured per-layer errors) or <c>uniform</c> (one rank fraction for all layers).</param>
/// <param name="Error">Error of a global candidate: <c>loss</c> (calibration-loss increase, layer alone) or <c>frobenius</c> (squared relative reconstruction error).</param>
/// <param name="Calibration">Training images the loss error is measured on.</param>
/// <param name="KeepOutputLayer">Keep the last linear or conv layer of the graph dense (the classifier).</param>
public sealed record LowRankSpec(string Name, string LinearMethod, string ConvMethod, double Energy, IReadOnlyList<LayerRule> Layers,
    RankTarget? Target = null, string Allocation = "global", string Error = "loss", int Calibration = 1024, bool KeepOutputLayer = true)
    : ComponentSpec(Name, "low-rank")
{
    /// <inheritdoc/>
    public override ICompressionMethod CreateMethod(Recipe recipe, double budgetPp) => new LowRankMethod(this);

    internal static ComponentSpec Parse(string name, YamlMap m)
    {
        var lin = m.Str("linear", "svd")!;
        if (lin is not ("svd" or "none")) throw m.Error("linear", $"must be svd or none, got '{lin}'");
        var conv = m.Str("conv", "tucker2")!;
        if (conv is not ("tucker2" or "cp" or "spatial-svd" or "none")) throw m.Error("conv", $"must be tucker2, cp, spatial-svd or none, got '{conv}'");
        RankTarget? target = null;
        if (m.Map("target") is { } t)
        {
            bool flops = t.Has("flops"), pars = t.Has("params");
            if (flops == pars) throw m.Error("target", "give exactly one of flops or params (a fraction of the network's total, e.g. {flops: 0.33})");
            var key = flops ? "flops" : "params";
            double f = t.Num(key, 0.5, 0, 1);
            if (!(f > 0 && f < 1)) throw t.Error(key, $"must be in (0, 1), got {f}");
            t.EnsureAllUsed();
            target = new RankTarget(flops ? CostKind.Macs : CostKind.Parameters, f);
            if (m.Has("energy")) throw m.Error("energy", "does not apply with a target (the target sets the ranks)");
        }
        else if (conv == "cp") throw m.Error("conv", "cp chooses its ranks by a budget: give a target (e.g. target: {flops: 0.33})");
        var alloc = m.Str("allocation", "global")!;
        if (alloc is not ("global" or "uniform")) throw m.Error("allocation", $"must be global or uniform, got '{alloc}'");
        var error = m.Str("error", "loss")!;
        if (error is not ("loss" or "frobenius")) throw m.Error("error", $"must be loss or frobenius, got '{error}'");
        if (target is null && (m.Has("allocation") || m.Has("error") || m.Has("calibration")))
            throw m.Error(m.Has("allocation") ? "allocation" : m.Has("error") ? "error" : "calibration", "applies only with a target");
        return new LowRankSpec(name, lin, conv, m.Num("energy", 0.9, 1e-6, 1), RecipeLoader.ParseRules(m, false, false),
            target, alloc, error, m.Int("calibration", 1024, 1, 1 << 20), m.Bool("keep_output_layer", true));
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
        var infos = GraphAnalysis.Analyze(graph, t => state.TryGetValue(t, out var v) ? v.Shape : null, out var shapes);
        var outputLayer = graph.Nodes.LastOrDefault(n => n.Op is "linear" or "conv2d")?.Name;
        var covered = new List<BudgetLayer>();
        foreach (var n in graph.Nodes)
        {
            var method = n.Op == "linear" ? spec.LinearMethod : n.Op == "conv2d" ? spec.ConvMethod : "none";
            var weightName = n.Params.GetValueOrDefault("weight");
            if (method == "none" || weightName is null || (LayerRule.First(spec.Layers, weightName)?.Skip ?? false)
                || (spec.KeepOutputLayer && n.Name == outputLayer)
                || n.HasInputTransform)
                continue;
            covered.Add(new BudgetLayer(n.Name, Layer(n, state), method, n.Op == "conv2d" ? (shapes[n.Inputs[0]][1], shapes[n.Inputs[0]][2]) : (1, 1)));
        }
        var report = new List<string>();
        var factors = spec.Target is { } target ? ByTarget(ctx, covered, infos, target, report) : ByEnergy(covered, report);
        var nodes = new List<GraphNode>();
        foreach (var n in graph.Nodes)
        {
            if (!factors.TryGetValue(n.Name, out var f)) { nodes.Add(n); continue; }
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
        }
        graph.Nodes = nodes;
        ctx.ReplaceModel(GraphLayers.FromTensors(graph, state, InputHooks.Factories));
        ctx.Log("low-rank: " + string.Join("; ", report));
    }

    private Dictionary<string, Factorization> ByEnergy(List<BudgetLayer> covered, List<string> report)
    {
        var res = new Dictionary<string, Factorization>(StringComparer.Ordinal);
        foreach (var l in covered)
        {
            var f = LowRankDecomposer.Decompose(l.Layer, new LowRankOptions { Method = l.Method, Energy = spec.Energy, InputSize = l.InputSize });
            if (f.Parameters >= f.Original.Parameters) { report.Add($"{l.Name} kept (rank {string.Join("/", f.Ranks)} saves nothing)"); continue; }
            res[l.Name] = f;
            report.Add(Describe(l.Name, f));
        }
        return res;
    }

    private Dictionary<string, Factorization> ByTarget(CompressionContext ctx, List<BudgetLayer> covered, List<GraphAnalysis.NodeInfo> infos,
        RankTarget target, List<string> report)
    {
        var kind = target.Kind;
        long total = kind == CostKind.Macs ? infos.Sum(i => i.Macs) : ctx.Model.Parameters().Sum(p => (long)p.Size);
        long fixedCost = total - covered.Sum(l => l.DenseCost(kind));
        long budget = (long)Math.Floor(target.Fraction * total);
        Func<BudgetLayer, float[], double>? loss = null;
        if (spec.Allocation == "global" && spec.Error == "loss") loss = LossIncrease(ctx);
        var ranks = RankBudget.Allocate(covered, kind, fixedCost, budget, spec.Allocation == "uniform", loss, ctx.Log);
        var res = new Dictionary<string, Factorization>(StringComparer.Ordinal);
        long reached = fixedCost;
        foreach (var l in covered)
        {
            if (ranks[l.Name] is not { } r) { reached += l.DenseCost(kind); report.Add($"{l.Name} kept dense"); continue; }
            var f = l.Decompose(r, l.Method == "cp" ? 100 : 50);
            reached += l.Cost(r, kind);
            res[l.Name] = f;
            report.Add(Describe(l.Name, f));
        }
        report.Add($"{spec.Allocation} allocation: {target.Key} {reached:N0} of {total:N0} ({(double)reached / total:F3}, target {target.Fraction})");
        return res;
    }

    // The calibration-loss increase when one layer's weight is replaced by an approximation (the rest unchanged).
    private Func<BudgetLayer, float[], double> LossIncrease(CompressionContext ctx)
    {
        int batchSize = 0;
        var batches = new List<(Tensor X, int[] Y)>();
        foreach (var b in ctx.TrainBatches(0))
        {
            batches.Add(b);
            batchSize += b.Y.Length;
            if (batchSize >= spec.Calibration) break;
        }
        double baseline = Trainer.Evaluate(ctx.Model, batches).Loss;
        var weights = ctx.Model.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        var names = ctx.Model.ToGraph().Nodes.ToDictionary(n => n.Name, n => n.Params.GetValueOrDefault("weight") ?? "", StringComparer.Ordinal);
        return (layer, approx) =>
        {
            var w = weights[names[layer.Name]];
            var saved = w.ToArray();
            try
            {
                approx.CopyTo(w.Span);
                return Trainer.Evaluate(ctx.Model, batches).Loss - baseline;
            }
            finally { saved.CopyTo(w.Span); }
        };
    }

    private static string Describe(string name, Factorization f)
        => $"{name} {f.Method} ranks {string.Join("/", f.Ranks)}: {f.Original.Parameters:N0} -> {f.Parameters:N0} params, error {f.RelativeError:F3}";

    private static FactorLayer Layer(GraphNode n, Dictionary<string, Tensor> state)
    {
        var w = state[n.Params["weight"]];
        var b = n.Params.TryGetValue("bias", out var bn) ? state[bn].ToArray() : null;
        if (n.Op == "linear") return FactorLayer.Linear(w.ToArray(), w.Shape[0], w.Shape[1], b);
        var a = ConvAttrs.Of(n);
        return FactorLayer.Conv(w.ToArray(), w.Shape, b, (a.StrideH, a.StrideW), (a.PadH, a.PadW), (a.DilationH, a.DilationW), a.Groups);
    }
}

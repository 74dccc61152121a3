using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Quantization;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Pruning.Channels;

/// <summary>
/// Runs a <see cref="ChannelPruningSpec"/>: at each policy epoch it scores the channel units of the current graph
/// (<see cref="ChannelDependencies"/>) by the criterion, removes the globally least important ones
/// (<see cref="ChannelSelection"/>) until the model keeps the step's share of the input model's parameters or FLOPs,
/// and replaces the model by the smaller dense one (<see cref="ChannelRemoval"/>); the epochs between steps fine-tune.
/// Several policy epochs follow the cubic gradual schedule of unstructured pruning (Zhu and Gupta 2017):
/// keep_i = 1 - (1 - keep) (1 - (1 - i/n)^3); one epoch prunes in one shot.
/// </summary>
public sealed class ChannelPruningMethod(ChannelPruningSpec spec) : ICompressionMethod
{
    private long _denseParams, _denseMacs;
    private Dictionary<string, int> _denseGroupSizes = new(StringComparer.Ordinal);
    private RegularizationCallback? _slimming;

    /// <inheritdoc/>
    public string Name => spec.Name;
    /// <inheritdoc/>
    public int Order => 90; // before magnitude pruning and sharing, which then see the smaller layers
    /// <inheritdoc/>
    public bool ResetsOptimizer => true;

    /// <inheritdoc/>
    public void Begin(CompressionContext ctx)
    {
        if (spec.SlimmingL1 <= 0) return;
        var gammas = ctx.Model.ToGraph().Nodes.Where(n => n.Op == "batchnorm").Select(n => n.Params["weight"]).ToList();
        if (gammas.Count == 0) throw new InvalidOperationException($"recipe component '{spec.Name}': slimming_l1 needs batch norms, and the model has none");
        _slimming = new RegularizationCallback(new L1Regularizer(spec.SlimmingL1), gammas);
        ctx.Callbacks.Add(_slimming);
    }

    /// <inheritdoc/>
    public void Plan(CompressionContext ctx)
    {
        var (graph, state) = Snapshot(ctx);
        var d = Analyze(graph, state);
        (_denseParams, _denseMacs) = ChannelRemoval.Cost(d, Shape(state), new HashSet<int>(), Counted(ctx));
        _denseGroupSizes = d.Groups().ToDictionary(g => g.Key, g => g.Value.Count, StringComparer.Ordinal);
        if (_denseGroupSizes.Count == 0) throw new InvalidOperationException($"recipe component '{spec.Name}': the model has no prunable channels");
        // an unreachable final target is an error now, not after the epochs of the earlier steps
        Select(d, Enumerable.Repeat(1.0, d.Units.Count).ToArray(), Shape(state), Counted(ctx), spec.Keep);
    }

    private HashSet<int> Select(ChannelDependencies d, double[] importance, Func<string, int[]?> shape, List<string> counted, double keep)
    {
        double dense = spec.Target == "params" ? _denseParams : _denseMacs;
        return ChannelSelection.Select(d, importance,
            g => (int)Math.Ceiling((1 - spec.MaxLayerPrune) * _denseGroupSizes.GetValueOrDefault(g, 1)),
            r => { var c = ChannelRemoval.Cost(d, shape, r, counted); return spec.Target == "params" ? c.Params : c.Macs; },
            keep * dense, $"{spec.Target} {keep:0.###} of the input model ({keep * dense:N0} {spec.Target})", spec.ChannelMultiple);
    }

    /// <inheritdoc/>
    public void Apply(CompressionContext ctx, int epoch, int step, int steps)
    {
        if (_denseMacs == 0) Plan(ctx);
        double keep = 1 - (1 - spec.Keep) * (1 - Math.Pow(1 - (double)step / steps, 3));
        var (graph, state) = Snapshot(ctx);
        var d = Analyze(graph, state);
        var shape = Shape(state);
        var counted = Counted(ctx);
        var importance = Importance(ctx, d, state, out var hessians);
        var removed = Select(d, importance, shape, counted, keep);
        if (hessians is not null) Refit(d, state, removed, hessians);
        var (newGraph, tensors) = ChannelRemoval.Apply(d, state, removed);
        ctx.ReplaceModel(GraphLayers.FromTensors(newGraph, tensors, InputHooks.Factories));
        var cost = ChannelRemoval.Cost(d, shape, removed, counted);
        Report(ctx, d, removed);
        ctx.Log($"channel pruning step {step}/{steps} ({spec.Criterion}): removed {removed.Count} channel units; params {cost.Params:N0} ({cost.Params / (double)_denseParams:P1} of input), "
            + $"MACs {cost.Macs:N0} ({cost.Macs / (double)_denseMacs:P1}), target {spec.Target} {keep:P1}");
        if (step == steps && _slimming is not null) ctx.Callbacks.Remove(_slimming);
    }

    private double[] Importance(CompressionContext ctx, ChannelDependencies d, Dictionary<string, Tensor> state, out Dictionary<string, LayerHessian>? hessians)
    {
        hessians = null;
        switch (spec.Criterion)
        {
            case "taylor":
                return ChannelImportance.Taylor(d, ctx.Model, ctx.TrainBatches(0).Take(spec.CalibrationBatches), ctx.Loss);
            case "reconstruction":
                var layers = d.Units.Where(u => u.Prunable).SelectMany(u => u.Consumers.Select(c => c.Node.Name)).Distinct().ToList();
                hessians = LayerCalibration.CollectHessians(ctx.Model, ctx.TrainBatches(0).Take(spec.CalibrationBatches).Select(b => b.X), layers);
                return ChannelImportance.Reconstruction(d, state, hessians);
            default:
                return ChannelImportance.Compute(spec.Criterion, d, state);
        }
    }

    // Least-squares refit of every layer that reads removed channels (reconstruction criterion).
    private static void Refit(ChannelDependencies d, Dictionary<string, Tensor> state, HashSet<int> removed, Dictionary<string, LayerHessian> hessians)
    {
        var kept = ChannelRemoval.Kept(d, removed);
        foreach (var n in d.Graph.Nodes.Where(n => hessians.ContainsKey(n.Name) && ChannelDependencies.IsWeightLayer(n)))
        {
            var x = n.Inputs[0];
            if (kept[x].Length == d.Spaces[x].Count) continue;
            var w = state[n.Params["weight"]];
            int width = n.Op == "linear" ? d.Spaces[x].Block : w.Size / w.Shape[0] / w.Shape[1];
            var cols = kept[x].SelectMany(c => Enumerable.Range(c * width, width)).ToArray();
            state[n.Params["weight"]] = ChannelReconstruction.RefitInPlaceShape(w, hessians[n.Name].Matrix(), cols);
        }
    }

    private void Report(CompressionContext ctx, ChannelDependencies d, HashSet<int> removed)
    {
        foreach (var n in d.Graph.Nodes.Where(ChannelDependencies.IsWeightLayer))
        {
            var s = d.Spaces[n.Output];
            int gone = Enumerable.Range(0, s.Count).Count(c => removed.Contains(d.UnitOf(n.Output, c).Id));
            int dense = n.Int(ChannelRemoval.DenseChannelsAttr, s.Count);
            var name = n.Params["weight"];
            var plan = ctx.Plans.TryGetValue(name, out var p) ? p : ctx.Plans[name] = new LayerPlan();
            plan.TargetSparsity = 1 - (s.Count - gone) / (double)dense; // fraction of the dense output channels removed
            plan.Source = $"channels {spec.Criterion}";
        }
    }

    private ChannelDependencies Analyze(ModelGraph graph, Dictionary<string, Tensor> state)
        => ChannelDependencies.Analyze(graph, Shape(state), node => LayerRule.First(spec.Layers, node)?.Skip ?? false);

    private static (ModelGraph Graph, Dictionary<string, Tensor> State) Snapshot(CompressionContext ctx)
        => (ctx.Model.ToGraph(), ctx.Model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ContiguousData().Clone(), StringComparer.Ordinal));

    private static Func<string, int[]?> Shape(Dictionary<string, Tensor> state) => t => state.TryGetValue(t, out var v) ? v.Shape : null;

    private static List<string> Counted(CompressionContext ctx) => ctx.Model.NamedParameters().Select(p => p.Name).ToList();
}

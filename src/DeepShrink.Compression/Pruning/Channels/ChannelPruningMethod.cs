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
/// <remarks>
/// A latency target (<c>{latency: F}</c>) is turned into a FLOPs target once, before the first step: the FLOPs
/// fraction is bisected, each candidate pruned by the current ranking and timed against the input model by the
/// context's <see cref="ILatencyMeter"/> (interleaved, batch 1), for the largest one measured at most
/// (1 - <see cref="LatencyMargin"/>) F; the whole run's result is then timed again against the input model
/// (<see cref="Compressor"/>), and a result over F is reported as a missed target.
/// </remarks>
public sealed class ChannelPruningMethod(ChannelPruningSpec spec) : ICompressionMethod
{
    /// <summary>Share of a latency target kept free for measurement noise when the FLOPs level is chosen.</summary>
    public const double LatencyMargin = 0.03;

    private long _denseParams, _denseMacs;
    private string _kind = spec.Target == "latency" ? "flops" : spec.Target; // what Select counts
    private double _keep = spec.Keep;                                          // its fraction of the input model
    private bool _latencyResolved;
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
        if (spec.Target == "latency" && !_latencyResolved) ResolveLatency(ctx, d, state);
        // an unreachable final target is an error now, not after the epochs of the earlier steps
        Select(d, Enumerable.Repeat(1.0, d.Units.Count).ToArray(), Shape(state), Counted(ctx), _keep);
    }

    private HashSet<int> Select(ChannelDependencies d, double[] importance, Func<string, int[]?> shape, List<string> counted, double keep)
    {
        double dense = _kind == "params" ? _denseParams : _denseMacs;
        return ChannelSelection.Select(d, importance, Floor,
            r => { var c = ChannelRemoval.Cost(d, shape, r, counted); return _kind == "params" ? c.Params : c.Macs; },
            keep * dense, $"{_kind} {keep:0.###} of the input model ({keep * dense:N0} {_kind})", spec.ChannelMultiple);
    }

    private int Floor(string group) => (int)Math.Ceiling((1 - spec.MaxLayerPrune) * _denseGroupSizes.GetValueOrDefault(group, 1));

    /// <summary>Chooses the FLOPs fraction whose pruned model (by the current ranking) meets the latency target.</summary>
    private void ResolveLatency(CompressionContext ctx, ChannelDependencies d, Dictionary<string, Tensor> state)
    {
        var meter = ctx.Latency ?? throw LatencyMeters.Missing(spec.Name);
        var importance = Importance(ctx, d, state, out _);
        var shape = Shape(state);
        var counted = Counted(ctx);
        // the most removal the layer floors allow (the cost depends on how many units each group keeps, not which)
        var most = new HashSet<int>();
        foreach (var (g, units) in d.Groups())
            foreach (var u in units.Take(Math.Max(0, units.Count - Math.Max(1, Floor(g))))) most.Add(u.Id);
        double fMin = ChannelRemoval.Cost(d, shape, most, counted).Macs / (double)_denseMacs * 1.0001;
        bool Feasible(double f)
        {
            try { Select(d, importance, shape, counted, f); return true; }
            catch (ChannelSelection.UnreachableTargetException) { return false; }
        }
        if (!Feasible(fMin))
        {   // whole channel tiles (channel_multiple) can keep the floors' minimum out of reach: the smallest level they allow
            double bad = fMin, good = 1;
            while (good - bad > 0.002) { double mid = 0.5 * (bad + good); if (Feasible(mid)) good = mid; else bad = mid; }
            fMin = good;
        }
        double goal = spec.Keep * (1 - LatencyMargin);
        LatencyComparison At(double f)
        {
            // Apply reads the (already cloned) snapshot and gathers new tensors; the candidate is only timed
            var (g, tensors) = ChannelRemoval.Apply(d, state, Select(d, importance, shape, counted, f));
            var m = meter.Compare(ctx.Model, GraphLayers.FromTensors(g, tensors, InputHooks.Factories));
            ctx.Log($"latency target {spec.Keep:0.###}: FLOPs {f:P1} of the input model -> {m.CandidateMs:F3} ms vs {m.BaselineMs:F3} ms ({m.Ratio:0.###} of its latency)");
            return m;
        }
        var low = At(Math.Min(1, fMin));
        if (low.Ratio > goal)
            throw new ChannelSelection.UnreachableTargetException(
                $"channel pruning cannot reach latency {spec.Keep:0.###} of the input model: removing every channel the layer floors allow measures {low.Ratio:0.###} of its latency ({low.CandidateMs:F3} vs {low.BaselineMs:F3} ms; the target keeps {LatencyMargin:P0} for measurement noise); raise max_layer_prune or the target");
        double lo = fMin, hi = 1;
        var best = low;
        while (hi - lo > 0.01)
        {
            double mid = 0.5 * (lo + hi);
            var m = At(mid);
            if (m.Ratio <= goal) { lo = mid; best = m; } else hi = mid;
        }
        _kind = "flops";
        _keep = lo;
        _latencyResolved = true;
        ctx.Log($"latency target {spec.Keep:0.###}: pruning to FLOPs {lo:P1} of the input model (measured {best.Ratio:0.###} of its batch-1 latency)");
    }

    /// <inheritdoc/>
    public void Apply(CompressionContext ctx, int epoch, int step, int steps)
    {
        if (_denseMacs == 0) Plan(ctx);
        double keep = 1 - (1 - _keep) * (1 - Math.Pow(1 - (double)step / steps, 3));
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
            + $"MACs {cost.Macs:N0} ({cost.Macs / (double)_denseMacs:P1}), target {_kind} {keep:P1}");
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

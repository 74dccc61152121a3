using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Runtime.Kernels;

namespace DeepShrink.Runtime.Execution;

internal sealed partial class GraphPlanner
{
    private (Step, int[]) PlanLinear(GraphNode n, (int[] Shape, int Storage) x)
    {
        Expect(x.Shape, 1, "[in_features]");
        var w = Param(n, "weight");
        var name = n.Params["weight"];
        if (w.Shape.Count != 2 || w.Shape[1] != x.Shape[0])
            throw new InvalidDataException($"weight '{name}' has shape {ShapeUtil.Format(w.ShapeArray())}, expected [out, {x.Shape[0]}]");
        int outF = w.Shape[0];
        var bias = Vector(n, "bias", outF, optional: true);
        var transform = InputTransform.FromNode(n, (role, len) => Vector(n, role, len), x.Shape[0], 1, null);
        var (compressed, dense) = WeightCandidates.Build(w, name, 1, _options.ReadOptions, transform);
        var (chosen, micros) = KernelChooser.Choose(compressed, dense, _options.Kernels,
            KernelChooser.StepCosts(c => new LinearStep(n.Name, 0, c[0], bias, WeightCandidates.StepTransform(c, transform)) { Output = 1 }, _options.CalibrationBatch, _threads));
        Report(n, w.Codec, chosen, micros);
        return (new LinearStep(n.Name, x.Storage, chosen[0], bias, WeightCandidates.StepTransform(chosen, transform)), [outF]);
    }

    private (Step, int[]) PlanBatchNorm(GraphNode n, (int[] Shape, int Storage) x)
    {
        if (x.Shape.Length < 1) throw new InvalidDataException("expects samples of shape [C, ...]");
        int c = x.Shape[0], inner = ShapeUtil.Numel(x.Shape) / c;
        float eps = n.Float("eps", 1e-5f);
        if (!(eps > 0f)) throw new InvalidDataException($"eps must be > 0, got {eps}");
        var gamma = Vector(n, "weight", c);
        var beta = Vector(n, "bias", c);
        var mean = Vector(n, "running_mean", c);
        var variance = Vector(n, "running_var", c);
        return (new BatchNormStep(n.Name, x.Storage, gamma, beta, mean, variance, eps, inner), x.Shape);
    }

    private void Report(GraphNode n, string codec, IWeightMatrix[] chosen, Dictionary<string, double> micros)
    {
        _layers.Add(new LayerReport(n.Name, n.Op, codec, chosen[0].Kind, chosen.Sum(m => m.Rows), chosen[0].Cols,
            chosen.Sum(m => m.MacsPerColumn), chosen.Sum(m => m.StorageBytes), micros));
    }
}

using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Runtime.Execution;

internal sealed partial class GraphPlanner
{
    private (Step, int[]) PlanConv(GraphNode n, (int[] Shape, int Storage) x)
    {
        Expect(x.Shape, 3, "[C, H, W]");
        var w = Param(n, "weight");
        var name = n.Params["weight"];
        int groups = n.Int("groups", 1);
        if (w.Shape.Count != 4 || groups < 1 || w.Shape[1] * groups != x.Shape[0] || w.Shape[0] % groups != 0)
            throw new InvalidDataException($"weight '{name}' has shape {ShapeUtil.Format(w.ShapeArray())}, expected [O, {x.Shape[0]}/{groups}, kh, kw] with O divisible by groups {groups}");
        var g = new ConvGeometry(1, x.Shape[0], x.Shape[1], x.Shape[2], w.Shape[0], w.Shape[2], w.Shape[3],
            n.Int("stride_h", 1), n.Int("stride_w", 1), n.Int("pad_h", 0), n.Int("pad_w", 0),
            n.Int("dilation_h", 1), n.Int("dilation_w", 1), groups);
        var bias = Vector(n, "bias", g.O, optional: true);
        var transform = InputTransform.FromNode(n, (role, len) => Vector(n, role, len), g.C, g.H * g.W, g);
        string cropNote = "";
        if (_options.CropPaddingTaps && ConvTapCrop.TryCrop(g, w, transform is not null, _options.ReadOptions) is { } crop)
            (g, w, cropNote) = (crop.Geometry, crop.Weight, crop.Note); // kernel rows / columns that only meet padding
        var (compressed, dense) = WeightCandidates.Build(w, name, groups, _options.ReadOptions, transform);
        var (chosen, micros) = KernelChooser.Choose(compressed, dense, _options.Kernels,
            KernelChooser.StepCosts(c => new ConvStep(n.Name, 0, g, c, bias, WeightCandidates.StepTransform(c, transform)) { Output = 1 }, Math.Min(4, _options.CalibrationBatch), _threads));
        Report(n, w.Codec, chosen, micros);
        var step = new ConvStep(n.Name, x.Storage, g, chosen, bias, WeightCandidates.StepTransform(chosen, transform), _options.PackConvolutions, _options.Winograd, _options.FewChannelConvolutions) { Note = cropNote };
        if (_options.MeasureConvolutions) step.MeasureAlgorithms(_threads, Math.Max(1, Math.Min(8, _options.CalibrationBatch)));
        return (step, [g.O, g.OH, g.OW]);
    }
    /// <summary>conv_transpose2d: dense float32 weights decoded once (any codec), GEMM + col2im per batch.</summary>
    private (Step, int[]) PlanConvTranspose(GraphNode n, (int[] Shape, int Storage) x)
    {
        Expect(x.Shape, 3, "[C, H, W]");
        var w = Param(n, "weight");
        var name = n.Params["weight"];
        var a = ConvTransposeAttrs.Of(n);
        if (w.Shape.Count != 4 || w.Shape[0] != x.Shape[0] || x.Shape[0] % a.Groups != 0)
            throw new InvalidDataException($"weight '{name}' has shape {ShapeUtil.Format(w.ShapeArray())}, expected [{x.Shape[0]}, O/{a.Groups}, kh, kw]");
        var g = new ConvTransposeGeometry(1, x.Shape[0], x.Shape[1], x.Shape[2], w.Shape[1] * a.Groups, w.Shape[2], w.Shape[3], a.StrideH, a.StrideW,
            a.PadTop, a.PadLeft, a.PadBottom, a.PadRight, a.DilationH, a.DilationW, a.OutPadH, a.OutPadW, a.Groups);
        var bias = Vector(n, "bias", g.O, optional: true);
        var weight = WeightCandidates.Guard(name, () => w.Decode(_options.ReadOptions.MaxTensorElements));
        _layers.Add(new LayerReport(n.Name, n.Op, w.Codec, "dense", g.O, g.C / g.Groups * g.KH * g.KW, g.Macs, weight.Length * 4L, new Dictionary<string, double>()));
        return (new ConvTransposeStep(n.Name, x.Storage, g, weight, bias), [g.O, g.OH, g.OW]);
    }
}

using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Runtime.Execution;

internal sealed partial class GraphPlanner
{
    /// <summary>The ops of graph v2 planned here: shape ops, clamped activations, softmax, broadcasting arithmetic.</summary>
    private static readonly string[] s_v2Ops = ["reshape", "concat", "pad", "clip", "hard_sigmoid", "hard_swish", "softmax", "add", "sub", "mul", "div"];

    /// <summary>Plans a graph-v2 op; false when <paramref name="n"/> is not one of them.</summary>
    private bool PlanV2(int index, GraphNode n)
    {
        if (Array.IndexOf(s_v2Ops, n.Op) < 0) return false;
        var x = _values[n.Inputs[0]];
        var shape = InferShape(n);
        switch (n.Op)
        {
            case "reshape": Define(n.Output, shape, x.Storage); break;
            case "concat":
                int axis = OpSchemas.SampleAxis(n, n.Int("axis", 1), x.Shape.Length);
                int outer = ShapeUtil.Numel(x.Shape.AsSpan(0, axis));
                var chunks = n.Inputs.Select(v => ShapeUtil.Numel(_values[v].Shape.AsSpan(axis))).ToArray();
                AddStep(index, n, (new ConcatStep(n.Name, n.Inputs.Select(v => _values[v].Storage).ToArray(), outer, chunks), shape), Ops.None);
                break;
            case "pad":
                int h = x.Shape[^2], w = x.Shape[^1];
                var pads = n.Ints("pads")!;
                AddStep(index, n, (new PadStep(n.Name, x.Storage, ShapeUtil.Numel(x.Shape) / (h * w), h, w, pads, n.Float("value", 0f)), shape), Ops.None);
                break;
            case "softmax":
                int ax = OpSchemas.SampleAxis(n, n.Int("axis", -1), x.Shape.Length);
                AddStep(index, n, (new SoftmaxStep(n.Name, x.Storage, ShapeUtil.Numel(x.Shape.AsSpan(0, ax)), x.Shape[ax], ShapeUtil.Numel(x.Shape.AsSpan(ax + 1))), shape), Ops.None);
                break;
            case "clip" or "hard_sigmoid" or "hard_swish":
                var (p, q) = n.Op switch
                {
                    "clip" => (Bound(n, "min", float.NegativeInfinity), Bound(n, "max", float.PositiveInfinity)),
                    "hard_sigmoid" => (n.Float("alpha", 0.2f), n.Float("beta", 0.5f)),
                    _ => (0f, 0f),
                };
                AddStep(index, n, (new ClampStep(n.Name, n.Op, x.Storage, ShapeUtil.Numel(x.Shape), p, q), shape), Ops.None);
                break;
            default:
                Step step;
                if (n.Inputs.Count == 2)
                {
                    var b = _values[n.Inputs[1]];
                    if (n.Op == "add" && x.Shape.AsSpan().SequenceEqual(b.Shape) && TryFuseResidual(index, n, x, b)) break;
                    step = new BroadcastStep(n.Name, n.Op, x.Storage, x.Shape, b.Storage, b.Shape, null, shape);
                }
                else
                {
                    var t = Param(n, "b");
                    var data = WeightCandidates.Guard(n.Params["b"], () => t.Decode(_options.ReadOptions.MaxTensorElements));
                    step = new BroadcastStep(n.Name, n.Op, x.Storage, x.Shape, -1, t.ShapeArray(), data, shape);
                }
                AddStep(index, n, (step, shape), Ops.Fusable);
                break;
        }
        return true;
    }

    /// <summary>The output shape by the op's schema (input shapes from the plan, parameter shapes from the stored tensors).</summary>
    private int[] InferShape(GraphNode n)
    {
        var ctx = new OpContext(n, n.Inputs.Select(v => _values[v].Shape).ToArray(),
            role => n.Params.TryGetValue(role, out var t) ? _tensors(t)?.ShapeArray() : null);
        return OpSchemas.Get(n.Op).InferShapes(ctx)[0];
    }

    /// <summary>A clip bound: a number, or absent / the text "none" for no bound.</summary>
    private static float Bound(GraphNode n, string key, float none)
    {
        if (!n.Attrs.TryGetValue(key, out var v) || (v.Kind == AttrKind.Text && v.AsText() == "none")) return none;
        return n.Float(key, none);
    }

    private (Step, int[]) PlanPool(GraphNode n, (int[] Shape, int Storage) x)
    {
        Expect(x.Shape, 3, "[C, H, W]");
        var a = PoolAttrs.Of(n);
        var g = new PoolGeometry(1, x.Shape[0], x.Shape[1], x.Shape[2], a.KernelH, a.KernelW, a.StrideH, a.StrideW, a.PadH, a.PadW);
        return (new PoolStep(n.Name, n.Op, x.Storage, g, a.CountIncludePad), [g.C, g.OH, g.OW]);
    }
}

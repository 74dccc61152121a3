using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn.Zoo;

/// <summary>
/// Width-scaled copies of any graph (the students of distillation and their no-distillation baselines):
/// every convolution and fully connected layer keeps its kernel and geometry but gets
/// <c>max(1, round(factor * outputs))</c> output channels, except the layer(s) producing the graph output,
/// which keep the output size. Batch norms follow their input, depthwise convolutions keep
/// <c>groups = channels</c>, residual adds stay consistent (both branches scale the same original width).
/// The copy is freshly initialised from the given generator (the teacher's weights are not used).
/// </summary>
public static class WidthScaling
{
    /// <summary>
    /// Creates the width-scaled, freshly initialised model of <paramref name="source"/> (its graph and tensor
    /// shapes; constants of other parameterised nodes on the input, e.g. normalisation, are copied). Throws
    /// <see cref="ArgumentException"/> (one line) for a node it cannot scale.
    /// </summary>
    public static GraphModule Scale(GraphModule source, double factor, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!(factor > 0 && factor <= 16)) throw new ArgumentException($"width factor must be in (0, 16], got {factor}");
        var state = source.StateDict();
        Func<string, int[]?> paramShape = t => state.TryGetValue(t, out var v) ? v.Shape : null;
        var g = source.Graph.Clone();
        var keep = OutputLayers(g);
        var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal) { [g.Input] = g.InputShape };
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var newShape = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var n in g.Nodes)
        {
            var ins = n.Inputs.Select(i => shapes[i]).ToArray();
            Module? layer = null;
            switch (n.Op)
            {
                case "conv2d":
                {
                    var w = Need(paramShape, n, "weight");
                    var a = ConvAttrs.Of(n);
                    int oldIn = w[1] * a.Groups, newIn = ins[0][0];
                    int groups = a.Groups == 1 ? 1 : a.Groups == oldIn ? newIn : a.Groups;
                    int outC = keep.Contains(n.Name) ? w[0] : Scaled(w[0], factor);
                    if (a.Groups == oldIn && a.Groups > 1) outC = newIn * (w[0] / oldIn);
                    if (newIn % groups != 0 || outC % groups != 0)
                        throw new ArgumentException($"node '{n.Name}': grouped convolution ({a.Groups} groups) cannot be width-scaled by {factor}");
                    var geo = a with { Groups = groups };
                    geo.WriteTo(n);
                    layer = new Conv2d(newIn, outC, (w[2], w[3]), geo, rng, n.Params.ContainsKey("bias"));
                    break;
                }
                case "linear":
                {
                    var w = Need(paramShape, n, "weight");
                    int inF = ShapeUtil.Numel(ins[0]);
                    layer = new Linear(inF, keep.Contains(n.Name) ? w[0] : Scaled(w[0], factor), rng, n.Params.ContainsKey("bias"));
                    break;
                }
                case "batchnorm":
                    layer = new BatchNorm(ins[0][0], eps: n.Float("eps", 1e-5f));
                    break;
                default:
                    foreach (var (role, t) in n.Params)
                    {   // other parameterised nodes (e.g. input normalisation constants) are copied when their input did not change
                        if (!n.Inputs.All(i => i == g.Input)) throw new ArgumentException($"node '{n.Name}' ({n.Op}) has parameters and cannot be width-scaled");
                        tensors[t] = state[t].Clone();
                        newShape[t] = tensors[t].Shape;
                    }
                    break;
            }
            if (layer is not null)
            {
                var byRole = layer.NamedParameters().Concat(layer.NamedBuffers()).ToDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal);
                foreach (var (role, t) in n.Params)
                {
                    if (!byRole.TryGetValue(role, out var v)) throw new ArgumentException($"node '{n.Name}' ({n.Op}): parameter '{role}' cannot be width-scaled");
                    tensors[t] = v;
                    newShape[t] = v.Shape;
                }
            }
            var schema = OpSchemas.Get(n.Op);
            var ctx = new OpContext(n, ins, role => n.Params.TryGetValue(role, out var t) ? newShape[t] : null);
            var outs = schema.InferShapes(ctx);
            for (int i = 0; i < outs.Length; i++) shapes[n.Outputs[i]] = outs[i];
        }
        return GraphLayers.FromTensors(g, tensors);
    }

    private static int Scaled(int c, double f) => Math.Max(1, (int)Math.Round(c * f, MidpointRounding.AwayFromZero));

    private static int[] Need(Func<string, int[]?> paramShape, GraphNode n, string role)
        => n.Params.TryGetValue(role, out var t) && paramShape(t) is { } s ? s : throw new ArgumentException($"node '{n.Name}' ({n.Op}): parameter '{role}' is missing");

    /// <summary>The conv/linear nodes whose output reaches the graph output through parameter-free nodes only (they keep their width).</summary>
    private static HashSet<string> OutputLayers(ModelGraph g)
    {
        var res = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>([g.Output]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (stack.Count > 0)
        {
            var v = stack.Pop();
            if (!seen.Add(v) || g.Producer(v) is not { } n) continue;
            if (n.Op is "conv2d" or "linear") { res.Add(n.Name); continue; }
            foreach (var i in n.Inputs) stack.Push(i);
        }
        return res;
    }
}

namespace DeepShrink.Core.Graph;

/// <summary>Per-node shapes and multiply-accumulate counts of a <see cref="ModelGraph"/> (batch 1).</summary>
public static class GraphAnalysis
{
    /// <summary>One node's shape and cost.</summary>
    public sealed record NodeInfo(GraphNode Node, int[] OutputShape, long Macs);

    /// <summary>
    /// Infers the sample shape of every value and the MACs of every node. <paramref name="paramShape"/>
    /// gives the shape of a parameter tensor by name.
    /// </summary>
    public static List<NodeInfo> Analyze(ModelGraph g, Func<string, int[]> paramShape)
    {
        var shapes = new Dictionary<string, int[]> { [g.Input] = g.InputShape };
        var res = new List<NodeInfo>();
        foreach (var n in g.Nodes)
        {
            var x = shapes[n.Inputs[0]];
            int[] o; long macs = 0;
            switch (n.Op)
            {
                case "linear":
                {
                    var w = paramShape(n.Params["weight"]);
                    if (x.Length != 1 || x[0] != w[1]) throw new FormatException($"{n.Name}: linear expects [{w[1]}] input, got {ShapeUtil.Format(x)}");
                    o = new[] { w[0] }; macs = (long)w[0] * w[1];
                    break;
                }
                case "conv2d":
                {
                    var w = paramShape(n.Params["weight"]);
                    int sh = n.Int("stride_h", 1), sw = n.Int("stride_w", 1), ph = n.Int("pad_h", 0), pw = n.Int("pad_w", 0);
                    int dh = n.Int("dilation_h", 1), dw = n.Int("dilation_w", 1), groups = n.Int("groups", 1);
                    if (x.Length != 3 || x[0] != w[1] * groups) throw new FormatException($"{n.Name}: conv2d expects {w[1] * groups} input channels, got {ShapeUtil.Format(x)}");
                    int oh = (x[1] + 2 * ph - dh * (w[2] - 1) - 1) / sh + 1, ow = (x[2] + 2 * pw - dw * (w[3] - 1) - 1) / sw + 1;
                    o = new[] { w[0], oh, ow }; macs = (long)w[0] * oh * ow * w[1] * w[2] * w[3];
                    break;
                }
                case "maxpool2d" or "avgpool2d":
                {
                    int k = n.Int("kernel", 2), s = n.Int("stride", k), p = n.Int("pad", 0);
                    o = new[] { x[0], (x[1] + 2 * p - k) / s + 1, (x[2] + 2 * p - k) / s + 1 };
                    break;
                }
                case "global_avgpool2d": o = new[] { x[0], 1, 1 }; break;
                case "flatten": o = new[] { x.Aggregate(1, (a, b) => a * b) }; break;
                default: o = x; break; // element-wise ops, batchnorm, add, identity
            }
            shapes[n.Output] = o;
            res.Add(new NodeInfo(n, o, macs));
        }
        return res;
    }
}

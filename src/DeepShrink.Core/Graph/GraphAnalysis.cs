namespace DeepShrink.Core.Graph;

/// <summary>Per-value shapes and per-node multiply-accumulates of a <see cref="ModelGraph"/> (batch 1), from the op schemas.</summary>
public static class GraphAnalysis
{
    /// <summary>One node's output shapes and cost.</summary>
    public sealed record NodeInfo(GraphNode Node, int[] OutputShape, long Macs)
    {
        /// <summary>Shapes of every output (most ops have one).</summary>
        public int[][] OutputShapes { get; init; } = [OutputShape];
    }

    /// <summary>
    /// Checks every node against its schema and infers the sample shape of every value and the MACs
    /// of every node. <paramref name="paramShape"/> gives the shape of a tensor by name (null when
    /// the model has no such tensor). Throws <see cref="FormatException"/> naming the node on a mismatch.
    /// </summary>
    public static List<NodeInfo> Analyze(ModelGraph g, Func<string, int[]?> paramShape)
        => Analyze(g, paramShape, out _);

    /// <summary>As <see cref="Analyze(ModelGraph, Func{string, int[]})"/>, also returning every value's shape.</summary>
    public static List<NodeInfo> Analyze(ModelGraph g, Func<string, int[]?> paramShape, out Dictionary<string, int[]> shapes)
    {
        ArgumentNullException.ThrowIfNull(g);
        g.Validate();
        if (g.InputShape.Length == 0 || g.InputShape.Any(d => d <= 0))
            throw new FormatException($"graph input shape {ShapeUtil.Format(g.InputShape)} must be non-empty with positive dimensions");
        shapes = new Dictionary<string, int[]>(StringComparer.Ordinal) { [g.Input] = g.InputShape };
        var res = new List<NodeInfo>(g.Nodes.Count);
        foreach (var n in g.Nodes)
        {
            var schema = OpSchemas.Get(n.Op);
            schema.CheckNode(n);
            var known = shapes;
            var ctx = new OpContext(n, n.Inputs.Select(i => known[i]).ToArray(),
                role => n.Params.TryGetValue(role, out var t) ? paramShape(t) ?? throw new FormatException($"node '{n.Name}' ({n.Op}): parameter '{role}' names tensor '{t}', which is not in the model") : null);
            int[][] outs;
            try { outs = schema.InferShapes(ctx); }
            catch (Exception e) when (e is OverflowException or ArgumentException) { throw new FormatException($"node '{n.Name}' ({n.Op}): {e.Message}"); }
            for (int i = 0; i < outs.Length; i++) shapes[n.Outputs[i]] = outs[i];
            res.Add(new NodeInfo(n, outs[0], schema.Macs(ctx, outs)) { OutputShapes = outs });
        }
        return res;
    }

    /// <summary>Total MACs per sample.</summary>
    public static long TotalMacs(ModelGraph g, Func<string, int[]?> paramShape) => Analyze(g, paramShape).Sum(i => i.Macs);

    /// <summary>The per-sample output shape of the graph.</summary>
    public static int[] OutputShape(ModelGraph g, Func<string, int[]?> paramShape)
    {
        Analyze(g, paramShape, out var shapes);
        return shapes[g.Output];
    }
}

using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Quantization;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Structured;

/// <summary>A node's replacement: the nodes that compute the same value, and one line for the log.</summary>
internal sealed record NodeReplacement(List<GraphNode> Nodes, string Report);

/// <summary>
/// The graph rewrite shared by the structured and compact-filter conversions: every node of the covered op
/// whose weight the layer rules do not skip (and that has no input transform) is offered to a converter,
/// which returns its replacement nodes (reading and writing tensors in the state) or null to keep it; the
/// model is then rebuilt from the new graph and tensors.
/// </summary>
internal static class StructuredRewrite
{
    /// <param name="keepUnmatched">Optional default for the layers no rule matches: node name -> why it stays dense
    /// (a matching rule, <c>skip</c> or not, overrides it).</param>
    public static void Apply(CompressionContext ctx, string what, string op, IReadOnlyList<LayerRule> rules,
        Func<GraphNode, Dictionary<string, Tensor>, Dictionary<string, int[]>, NodeReplacement?> convert,
        Func<ModelGraph, IReadOnlyDictionary<string, string>>? keepUnmatched = null)
    {
        var graph = ctx.Model.ToGraph();
        var state = ctx.Model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ContiguousData());
        GraphAnalysis.Analyze(graph, t => state.TryGetValue(t, out var v) ? v.Shape : null, out var shapes);
        var kept = keepUnmatched?.Invoke(graph) ?? new Dictionary<string, string>();
        var nodes = new List<GraphNode>();
        var report = new List<string>();
        foreach (var n in graph.Nodes)
        {
            var weight = n.Params.GetValueOrDefault("weight");
            NodeReplacement? r = null;
            if (n.Op == op && weight is not null && !n.HasInputTransform)
            {
                var rule = LayerRule.First(rules, weight);
                if (rule is null && kept.TryGetValue(n.Name, out var why)) report.Add($"{n.Name} kept ({why})");
                else if (!(rule?.Skip ?? false))
                {
                    r = convert(n, state, shapes);
                    if (r is null) report.Add($"{n.Name} kept");
                }
            }
            if (r is null) { nodes.Add(n); continue; }
            nodes.AddRange(r.Nodes);
            report.Add(r.Report);
        }
        graph.Nodes = nodes;
        ctx.ReplaceModel(GraphLayers.FromTensors(graph, state, InputHooks.Factories));
        ctx.Log($"{what}: " + (report.Count == 0 ? "no layer converted" : string.Join("; ", report)));
    }

    /// <summary>A parameterised node computing <paramref name="output"/> from <paramref name="input"/>.</summary>
    public static GraphNode Node(string name, string op, string input, string output, Dictionary<string, Tensor> state, Tensor weight, Tensor? bias)
    {
        var node = new GraphNode { Name = name, Op = op, Inputs = [input], Output = output, Params = new Dictionary<string, string>(StringComparer.Ordinal) { ["weight"] = name + ".weight" } };
        state[name + ".weight"] = weight;
        if (bias is not null)
        {
            node.Params["bias"] = name + ".bias";
            state[name + ".bias"] = bias;
        }
        return node;
    }

    /// <summary>Removes the node's own tensors from the state (before its replacement adds new ones).</summary>
    public static void Drop(GraphNode n, Dictionary<string, Tensor> state)
    {
        foreach (var t in n.Params.Values) state.Remove(t);
    }

    /// <summary>Parameter counts before and after, as a log fragment.</summary>
    public static string Params(long before, long after) => $"{before:N0} -> {after:N0} params ({(double)before / Math.Max(1, after):F1}x)";
}

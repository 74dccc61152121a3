using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Compression.Pruning.Channels;

/// <summary>
/// Physical removal of channel units found by <see cref="ChannelDependencies"/>: the rows of the producing layers,
/// the columns of the consuming layers (H x W columns per channel after a flatten), the batch-norm entries, the
/// constants of channel-wise arithmetic, and the <c>groups</c> of depthwise convolutions. The result is a smaller
/// dense graph and its tensors; <see cref="Mask"/> is the zero-filled equivalent that keeps the shapes.
/// </summary>
public static class ChannelRemoval
{
    /// <summary>What removal does to one graph: per tensor the (axis, kept indices) selections, per depthwise node its new groups.</summary>
    public sealed record Edit(Dictionary<string, List<(int Axis, int[] Keep)>> Selections, Dictionary<string, int> Groups, Dictionary<string, int[]> Kept);

    /// <summary>Kept channel indices of every value when <paramref name="removed"/> units go.</summary>
    public static Dictionary<string, int[]> Kept(ChannelDependencies d, IReadOnlySet<int> removed)
    {
        var kept = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var s in d.Spaces.Values)
            kept[s.Value] = Enumerable.Range(0, s.Count).Where(c => !removed.Contains(d.UnitOf(s.Value, c).Id)).ToArray();
        return kept;
    }

    /// <summary>The edit that removes <paramref name="removed"/> (unit ids) from the analysed graph.</summary>
    public static Edit Plan(ChannelDependencies d, IReadOnlySet<int> removed, Func<string, int[]?> paramShape)
    {
        foreach (var id in removed)
            if (!d.Units[id].Prunable) throw new ArgumentException($"channel unit {id} ({string.Join(", ", d.Units[id].Channels.Take(3))}) is fixed and cannot be removed");
        var kept = Kept(d, removed);
        var sel = new Dictionary<string, List<(int, int[])>>(StringComparer.Ordinal);
        var groups = new Dictionary<string, int>(StringComparer.Ordinal);
        int[] Expanded(string v)
        {
            var s = d.Spaces[v];
            return s.Block == 1 ? kept[v] : kept[v].SelectMany(c => Enumerable.Range(c * s.Block, s.Block)).ToArray();
        }
        void Select(GraphNode n, string role, int axis, int[] keep)
        {
            if (!n.Params.TryGetValue(role, out var t)) return;
            var shape = paramShape(t) ?? throw new FormatException($"node '{n.Name}': tensor '{t}' is missing");
            if (keep.Length == shape[axis]) return;
            if (!sel.TryGetValue(t, out var list)) sel[t] = list = new();
            list.Add((axis, keep));
        }
        foreach (var n in d.Graph.Nodes)
        {
            if (n.Outputs.Count != 1 || !d.Spaces.ContainsKey(n.Output)) continue;
            string y = n.Output;
            switch (n.Op)
            {
                case "conv2d" or "linear" when ChannelDependencies.IsWeightLayer(n):
                    Select(n, "weight", 0, kept[y]);
                    Select(n, "bias", 0, kept[y]);
                    Select(n, "weight", 1, n.Op == "linear" ? Expanded(n.Inputs[0]) : kept[n.Inputs[0]]);
                    break;
                case "conv2d" when d.Depthwise.Contains(n.Name):
                    Select(n, "weight", 0, kept[y]);
                    Select(n, "bias", 0, kept[y]);
                    groups[n.Name] = kept[n.Inputs[0]].Length;
                    break;
                case "batchnorm":
                    foreach (var role in n.Params.Keys.ToList()) Select(n, role, 0, kept[y]);
                    break;
                case "add" or "sub" or "mul" or "div" when n.Params.TryGetValue("b", out var b) && paramShape(b) is { } bs
                                                           && bs.Length == d.Shapes[y].Length && bs[0] == d.Shapes[y][0]:
                    Select(n, "b", 0, Expanded(y));
                    break;
            }
        }
        return new Edit(sel, groups, kept);
    }

    /// <summary>The graph after <paramref name="edit"/>: depthwise groups updated, and the dense output channels recorded as attribute <c>dense_channels</c> on layers that lost some.</summary>
    public static ModelGraph Graph(ChannelDependencies d, Edit edit)
    {
        var g = d.Graph.Clone();
        foreach (var n in g.Nodes)
        {
            if (edit.Groups.TryGetValue(n.Name, out int groups)) n.Attrs["groups"] = groups;
            if (n.Op is "conv2d" or "linear" && n.Outputs.Count == 1 && edit.Kept.TryGetValue(n.Output, out var k)
                && k.Length < d.Spaces[n.Output].Count && !n.Has(DenseChannelsAttr))
                n.Attrs[DenseChannelsAttr] = d.Spaces[n.Output].Count;
        }
        return g;
    }

    /// <summary>Node attribute recording a layer's output channels before channel pruning (shown by <c>inspect</c>).</summary>
    public const string DenseChannelsAttr = "dense_channels";

    /// <summary>Removes <paramref name="removed"/> units: the smaller graph and its tensors (tensors not touched are shared).</summary>
    public static (ModelGraph Graph, Dictionary<string, Tensor> Tensors) Apply(ChannelDependencies d, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlySet<int> removed)
    {
        var edit = Plan(d, removed, t => tensors.TryGetValue(t, out var v) ? v.Shape : null);
        var result = new Dictionary<string, Tensor>(tensors, StringComparer.Ordinal);
        foreach (var (name, list) in edit.Selections)
        {
            var t = tensors[name].ContiguousData();
            foreach (var (axis, keep) in list) t = Gather(t, axis, keep);
            result[name] = t;
        }
        return (Graph(d, edit), result);
    }

    /// <summary>
    /// The masked equivalent of removing <paramref name="removed"/>: the same shapes, with the removed channels' producer and
    /// depthwise rows and biases, batch-norm scales and shifts and additive constants zeroed, so every removed channel carries exact zeros.
    /// </summary>
    public static Dictionary<string, Tensor> Mask(ChannelDependencies d, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlySet<int> removed)
    {
        var result = tensors.ToDictionary(kv => kv.Key, kv => kv.Value.Clone(), StringComparer.Ordinal);
        void Zero(GraphNode n, string role, int channel, int block)
        {
            if (!n.Params.TryGetValue(role, out var name)) return;
            var t = result[name];
            int inner = t.Size / t.Shape[0];
            t.Span.Slice(channel * block * inner, block * inner).Clear();
        }
        foreach (var id in removed)
        {
            var u = d.Units[id];
            foreach (var (n, c) in u.Producers) { Zero(n, "weight", c, 1); Zero(n, "bias", c, 1); }
            foreach (var (n, c) in u.Norms) { Zero(n, "weight", c, 1); Zero(n, "bias", c, 1); }
            foreach (var (value, c) in u.Channels)
                foreach (var n in d.Graph.Nodes.Where(n => n.Outputs.Count == 1 && n.Output == value))
                {
                    if (d.Depthwise.Contains(n.Name)) { Zero(n, "weight", c, 1); Zero(n, "bias", c, 1); }
                    else if (n.Op is "add" or "sub" && n.Params.TryGetValue("b", out var b) && result[b].Shape is { } bs
                             && bs.Length == d.Shapes[value].Length && bs[0] == d.Shapes[value][0])
                        Zero(n, "b", c, d.Spaces[value].Block);
                }
        }
        return result;
    }

    /// <summary>Parameters (of <paramref name="counted"/> tensors) and MACs per sample after removing <paramref name="removed"/>, from shapes only.</summary>
    public static (long Params, long Macs) Cost(ChannelDependencies d, Func<string, int[]?> paramShape, IReadOnlySet<int> removed, IEnumerable<string> counted)
    {
        var edit = Plan(d, removed, paramShape);
        int[]? Shape(string t)
        {
            if (paramShape(t) is not { } s) return null;
            if (!edit.Selections.TryGetValue(t, out var list)) return s;
            s = s.ToArray();
            foreach (var (axis, keep) in list) s[axis] = keep.Length;
            return s;
        }
        long p = counted.Sum(t => Shape(t) is { } s ? ShapeUtil.Numel(s) : 0L);
        return (p, GraphAnalysis.TotalMacs(Graph(d, edit), Shape));
    }

    /// <summary>The entries of <paramref name="t"/> at <paramref name="keep"/> along <paramref name="axis"/>.</summary>
    public static Tensor Gather(Tensor t, int axis, int[] keep)
    {
        var shape = t.Shape;
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < shape.Length; i++) inner *= shape[i];
        var src = t.ContiguousData().Span;
        var dst = new float[outer * keep.Length * inner];
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < keep.Length; k++)
                src.Slice((o * shape[axis] + keep[k]) * inner, inner).CopyTo(dst.AsSpan((o * keep.Length + k) * inner, inner));
        var ns = shape.ToArray();
        ns[axis] = keep.Length;
        return new Tensor(dst, ns);
    }
}

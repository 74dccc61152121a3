using DeepShrink.Core.Graph;

namespace DeepShrink.Compression.Pruning.Channels;

/// <summary>The channel axis of one graph value: <see cref="Count"/> channels of <see cref="Block"/> consecutive features each.</summary>
/// <param name="Value">Value name.</param>
/// <param name="Count">Channels (axis 0 of the per-sample shape).</param>
/// <param name="Block">Features per channel along axis 0 (H x W after a flatten, else 1).</param>
/// <param name="Offset">Index of channel 0 in the analysis' global channel numbering.</param>
public sealed record ChannelSpace(string Value, int Count, int Block, int Offset);

/// <summary>A set of coupled channels that are removed together (one channel of every value it spans).</summary>
public sealed class ChannelUnit
{
    /// <summary>Index in <see cref="ChannelDependencies.Units"/>.</summary>
    public required int Id { get; init; }
    /// <summary>The (value, channel) coordinates the unit spans.</summary>
    public List<(string Value, int Channel)> Channels { get; } = new();
    /// <summary>Weight layers (<c>conv2d</c> with groups 1, <c>linear</c>) that compute this channel: (node, output channel).</summary>
    public List<(GraphNode Node, int Channel)> Producers { get; } = new();
    /// <summary>Weight layers that read this channel: (node, input channel; a <c>linear</c> reads Block columns from it).</summary>
    public List<(GraphNode Node, int Channel, int Block)> Consumers { get; } = new();
    /// <summary>Batch norms that scale this channel: (node, channel).</summary>
    public List<(GraphNode Node, int Channel)> Norms { get; } = new();
    /// <summary>True when the channel cannot be removed (graph input/output, an op without a channel rule, a skip rule).</summary>
    public bool Fixed { get; set; }
    /// <summary>The group (coupled layers) the unit belongs to: the sorted names of its producers.</summary>
    public string Group => string.Join("+", Producers.Select(p => p.Node.Name).Distinct().Order(StringComparer.Ordinal));
    /// <summary>True when the unit may be removed.</summary>
    public bool Prunable => !Fixed && Producers.Count > 0;
}

/// <summary>
/// Channel dependency analysis of a <see cref="ModelGraph"/> (in the spirit of Torch-Pruning's dependency graph,
/// Fang et al. 2023): every channel of every value is a node of a union-find, and each op links the channels it
/// couples: element-wise ops, pooling, padding, batch norm and depthwise convolutions link input channel c to output
/// channel c; residual adds link their operands; a concatenation links input k's channel c to output channel
/// offset_k + c; a flatten links channel c to the H x W features it becomes, so the linear layer after it loses those
/// columns. Convolutions (groups 1) and linear layers start fresh channel spaces at their outputs. Each connected set
/// is a <see cref="ChannelUnit"/>: removing it removes one output row of each producer, the matching input columns
/// of each consumer and the entries of each batch norm. Channels reaching the graph input or output, a reshape,
/// a softmax over channels, a grouped (non-depthwise) convolution or an op without a rule here are fixed.
/// </summary>
public sealed class ChannelDependencies
{
    private readonly int[] _parent;
    private readonly bool[] _fixed;
    private readonly int[] _unitOf;

    /// <summary>Channel space of each value that has one.</summary>
    public IReadOnlyDictionary<string, ChannelSpace> Spaces { get; }
    /// <summary>The coupled channel sets.</summary>
    public IReadOnlyList<ChannelUnit> Units { get; }
    /// <summary>Per-sample shape of every value.</summary>
    public IReadOnlyDictionary<string, int[]> Shapes { get; }
    /// <summary>The analysed graph.</summary>
    public ModelGraph Graph { get; }
    /// <summary>Depthwise convolutions (groups = input channels): their <c>groups</c> attribute follows the kept channels.</summary>
    public IReadOnlySet<string> Depthwise { get; }

    private ChannelDependencies(ModelGraph graph, Dictionary<string, int[]> shapes, Dictionary<string, ChannelSpace> spaces, int total)
    {
        Graph = graph; Shapes = shapes; Spaces = spaces;
        _parent = Enumerable.Range(0, total).ToArray();
        _fixed = new bool[total];
        _unitOf = new int[total];
        Units = new List<ChannelUnit>();
        Depthwise = new HashSet<string>(StringComparer.Ordinal);
    }

    /// <summary>The unit of channel <paramref name="channel"/> of <paramref name="value"/>.</summary>
    public ChannelUnit UnitOf(string value, int channel) => Units[_unitOf[Spaces[value].Offset + channel]];

    /// <summary>Groups of prunable units by <see cref="ChannelUnit.Group"/>.</summary>
    public Dictionary<string, List<ChannelUnit>> Groups()
        => Units.Where(u => u.Prunable).GroupBy(u => u.Group, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

    /// <summary>
    /// Analyses <paramref name="graph"/> whose tensors have the shapes <paramref name="paramShape"/> gives;
    /// <paramref name="keepOutputsOf"/> names nodes whose output channels must stay (skip rules).
    /// </summary>
    public static ChannelDependencies Analyze(ModelGraph graph, Func<string, int[]?> paramShape, Func<string, bool>? keepOutputsOf = null)
    {
        GraphAnalysis.Analyze(graph, paramShape, out var shapes);
        var spaces = new Dictionary<string, ChannelSpace>(StringComparer.Ordinal);
        int total = 0;
        void Add(string value, int block)
        {
            var s = shapes[value];
            if (s.Length == 0 || spaces.ContainsKey(value)) return;
            int count = s[0] / block;
            spaces[value] = new ChannelSpace(value, count, block, total);
            total += count;
        }
        Add(graph.Input, 1);
        foreach (var n in graph.Nodes)
            foreach (var o in n.Outputs)
            {
                // a full flatten of [C, H, W] keeps C channels of H x W features each
                bool flat = n.Op == "flatten" && n.Int("start_axis", 1) == 1 && spaces.ContainsKey(n.Inputs[0]);
                Add(o, flat ? shapes[n.Inputs[0]].Skip(1).Aggregate(spaces[n.Inputs[0]].Block, (a, d) => a * d) : 1);
            }
        var deps = new ChannelDependencies(graph, shapes, spaces, total);
        deps.Link(paramShape, keepOutputsOf ?? (_ => false));
        return deps;
    }

    // conv/linear with only weight and bias and no input transform (quantised, binary inputs are left alone)
    private static bool PlainWeights(GraphNode n)
        => n.Params.Keys.All(r => r is "weight" or "bias") && !n.HasInputTransform;

    /// <summary>True for a <c>linear</c> or ungrouped <c>conv2d</c> node with plain weights: it produces and consumes channels.</summary>
    public static bool IsWeightLayer(GraphNode n)
        => PlainWeights(n) && (n.Op == "linear" || (n.Op == "conv2d" && ConvAttrs.Of(n).Groups == 1));

    private int Find(int i)
    {
        while (_parent[i] != i) { _parent[i] = _parent[_parent[i]]; i = _parent[i]; }
        return i;
    }

    private void Union(int a, int b)
    {
        int ra = Find(a), rb = Find(b);
        if (ra != rb) _parent[ra] = rb;
    }

    private void FixValue(string v)
    {
        if (!Spaces.TryGetValue(v, out var s)) return;
        for (int c = 0; c < s.Count; c++) _fixed[s.Offset + c] = true;
    }

    // Links channel c of a to channel c of b; fixes both when they do not have the same channel structure.
    private void LinkValues(string a, string b, bool sameBlock = true)
    {
        var (sa, sb) = (Spaces[a], Spaces[b]);
        if (sa.Count != sb.Count || (sameBlock && sa.Block != sb.Block)) { FixValue(a); FixValue(b); return; }
        for (int c = 0; c < sa.Count; c++) Union(sa.Offset + c, sb.Offset + c);
    }

    private void Link(Func<string, int[]?> paramShape, Func<string, bool> keepOutputsOf)
    {
        var depthwise = (HashSet<string>)Depthwise;
        var producers = new List<(GraphNode Node, string Value)>();
        var consumers = new List<(GraphNode Node, string Value)>();
        var norms = new List<(GraphNode Node, string Value)>();
        FixValue(Graph.Input);
        FixValue(Graph.Output);
        foreach (var n in Graph.Nodes)
        {
            string x = n.Inputs.Count > 0 ? n.Inputs[0] : "", y = n.Output;
            bool plainWeights = PlainWeights(n);
            switch (n.Op)
            {
                case "conv2d" when plainWeights && ConvAttrs.Of(n).Groups == 1:
                case "linear" when plainWeights:
                    producers.Add((n, y));
                    consumers.Add((n, x));
                    if (keepOutputsOf(n.Name)) FixValue(y);
                    break;
                case "conv2d" when plainWeights && ConvAttrs.Of(n).Groups == Spaces[x].Count:
                {
                    // depthwise (channel multiplier m): input channel c feeds outputs c*m .. c*m+m-1, removed together
                    depthwise.Add(n.Name);
                    var (sx, sy) = (Spaces[x], Spaces[y]);
                    int m = sy.Count / sx.Count;
                    for (int o = 0; o < sy.Count; o++) Union(sx.Offset + o / m, sy.Offset + o);
                    if (keepOutputsOf(n.Name)) FixValue(y);
                    break;
                }
                case "batchnorm":
                    norms.Add((n, y));
                    LinkValues(x, y);
                    break;
                case "maxpool2d" or "avgpool2d" or "global_avgpool2d":
                    LinkValues(x, y);
                    break;
                case "pad" when Shapes[x].Length >= 3:
                    LinkValues(x, y);
                    break;
                case "flatten":
                    LinkValues(x, y, sameBlock: false);
                    break;
                case "softmax" when OpSchemas.SampleAxis(n, n.Int("axis", -1), Shapes[x].Length) != 0:
                    LinkValues(x, y);
                    break;
                case "concat":
                    LinkConcat(n);
                    break;
                case "add" or "sub" or "mul" or "div":
                    LinkBinary(n, paramShape);
                    break;
                default:
                    if (OpSchemas.TryGet(n.Op) is { Elementwise: true } && n.Inputs.Count == 1 && n.Outputs.Count == 1 && n.Params.Count == 0) LinkValues(x, y);
                    else { foreach (var v in n.Inputs.Concat(n.Outputs)) FixValue(v); }
                    break;
            }
        }
        // components -> units
        var byRoot = new Dictionary<int, ChannelUnit>();
        var units = (List<ChannelUnit>)Units;
        foreach (var s in Spaces.Values)
            for (int c = 0; c < s.Count; c++)
            {
                int r = Find(s.Offset + c);
                if (!byRoot.TryGetValue(r, out var u)) { byRoot[r] = u = new ChannelUnit { Id = units.Count }; units.Add(u); }
                u.Channels.Add((s.Value, c));
                u.Fixed |= _fixed[s.Offset + c];
                _unitOf[s.Offset + c] = u.Id;
            }
        foreach (var (n, v) in producers) for (int c = 0; c < Spaces[v].Count; c++) UnitOf(v, c).Producers.Add((n, c));
        foreach (var (n, v) in consumers) for (int c = 0; c < Spaces[v].Count; c++) UnitOf(v, c).Consumers.Add((n, c, n.Op == "linear" ? Spaces[v].Block : 1));
        foreach (var (n, v) in norms) for (int c = 0; c < Spaces[v].Count; c++) UnitOf(v, c).Norms.Add((n, c));
    }

    private void LinkConcat(GraphNode n)
    {
        var y = Spaces[n.Output];
        int axis = OpSchemas.SampleAxis(n, n.Int("axis", 1), Shapes[n.Output].Length);
        if (axis != 0) { foreach (var x in n.Inputs) LinkValues(x, n.Output); return; }
        if (y.Block != 1 || n.Inputs.Any(x => Spaces[x].Block != 1)) { foreach (var v in n.Inputs.Append(n.Output)) FixValue(v); return; }
        int offset = 0;
        foreach (var x in n.Inputs)
        {
            var s = Spaces[x];
            for (int c = 0; c < s.Count; c++) Union(s.Offset + c, y.Offset + offset + c);
            offset += s.Count;
        }
    }

    // add/sub/mul/div: an operand with the output's channel axis is linked to it; a broadcast one (channel size 1, lower
    // rank) is not coupled. A constant 'b' with the channel axis is sliced when channels go (see ChannelRemoval).
    private void LinkBinary(GraphNode n, Func<string, int[]?> paramShape)
    {
        var outShape = Shapes[n.Output];
        foreach (var x in n.Inputs)
        {
            var s = Shapes[x];
            if (s.Length == outShape.Length && s[0] == outShape[0]) LinkValues(x, n.Output);
            else FixValue(x);
        }
        if (n.Params.TryGetValue("b", out var b) && paramShape(b) is { } bs && bs.Length == outShape.Length && bs[0] != 1 && bs[0] != outShape[0]) FixValue(n.Output);
    }
}

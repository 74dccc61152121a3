using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn;

/// <summary>
/// A trainable model that is its <see cref="ModelGraph"/>: the forward pass interprets the graph node
/// by node with autograd ops (<see cref="GraphOps"/>), so the model the trainer trains is exactly the
/// graph the runtime runs and the exporter writes. Nodes with parameters are backed by layer modules
/// at the node's dotted path (<see cref="Linear"/>, <see cref="Conv2d"/>, <see cref="BatchNorm"/>,
/// <see cref="GraphConstant"/>), so state-dict names are <c>{node}.{role}</c>, forward hooks attach to
/// them and any DAG (residual adds, concatenations, branches, shared inputs) trains.
/// </summary>
public sealed class GraphModule : Module
{
    private readonly Dictionary<string, Module> _layers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _lastUse = new(StringComparer.Ordinal);

    /// <summary>The graph (without hook attributes; see <see cref="ToGraph"/>). Do not modify it.</summary>
    public ModelGraph Graph { get; }

    /// <summary>Shape of one input sample.</summary>
    public int[] InputShape => Graph.InputShape;

    /// <summary>Shape of one output sample (from the op schemas).</summary>
    public int[] OutputShapeOfGraph { get; }

    /// <summary>
    /// Wraps existing layer modules: <paramref name="layers"/> maps each parameterised node's name to
    /// its module; the graph's parameter names must be <c>{node}.{role}</c>.
    /// </summary>
    public GraphModule(ModelGraph graph, IReadOnlyDictionary<string, Module> layers)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(layers);
        Graph = graph;
        var scopes = new Dictionary<string, GraphScope>(StringComparer.Ordinal);
        foreach (var n in graph.Nodes)
        {
            GraphOps.Get(n.Op); // one-line error for ops the trainer cannot run
            if (!layers.TryGetValue(n.Name, out var layer)) continue;
            foreach (var (role, tensor) in n.Params)
                if (!IsHookParam(role) && tensor != Join(n.Name, role))
                    throw new FormatException($"node '{n.Name}': parameter '{role}' is named '{tensor}', expected '{Join(n.Name, role)}'");
            Place(n.Name, layer, scopes);
            _layers[n.Name] = layer;
        }
        foreach (var n in graph.Nodes)
            if (n.Params.Keys.Any(r => !IsHookParam(r)) && !_layers.ContainsKey(n.Name))
                throw new FormatException($"node '{n.Name}' ({n.Op}) has parameters but no layer module");
        for (int i = 0; i < graph.Nodes.Count; i++)
            foreach (var v in graph.Nodes[i].Inputs) _lastUse[v] = i;
        OutputShapeOfGraph = GraphAnalysis.OutputShape(graph, ParamShape);
    }

    private static bool IsHookParam(string role) => role.StartsWith("in_", StringComparison.Ordinal);

    private static string Join(string a, string b) => a.Length == 0 ? b : a + "." + b;

    private int[]? ParamShape(string tensor)
    {
        int dot = tensor.LastIndexOf('.');
        if (dot < 0 || !_layers.TryGetValue(tensor[..dot], out var layer)) return null;
        var role = tensor[(dot + 1)..];
        foreach (var (n, t) in layer.NamedParameters()) if (n == role) return t.Shape;
        foreach (var (n, t) in layer.NamedBuffers()) if (n == role) return t.Shape;
        return null;
    }

    private void Place(string path, Module layer, Dictionary<string, GraphScope> scopes)
    {
        if (path.Length == 0 || path.Split('.').Any(s => s.Length == 0))
            throw new FormatException($"node name '{path}' is not a valid dotted module path");
        int dot = path.LastIndexOf('.');
        if (dot < 0) { RegisterModule(path, layer); return; }
        Scope(path[..dot], scopes).Add(path[(dot + 1)..], layer);
    }

    private GraphScope Scope(string path, Dictionary<string, GraphScope> scopes)
    {
        if (scopes.TryGetValue(path, out var s)) return s;
        s = new GraphScope();
        int dot = path.LastIndexOf('.');
        try
        {
            if (dot < 0) RegisterModule(path, s);
            else Scope(path[..dot], scopes).Add(path[(dot + 1)..], s);
        }
        catch (ArgumentException) { throw new FormatException($"graph node names clash at '{path}' (a node with parameters cannot also be a scope)"); }
        return scopes[path] = s;
    }

    /// <summary>The layer module of a node, or null.</summary>
    public Module? Layer(string node) => _layers.TryGetValue(node, out var m) ? m : null;

    /// <summary>Every parameterised node's layer, in graph order.</summary>
    public IEnumerable<(GraphNode Node, Module Layer)> Layers() => Graph.Nodes.Where(n => _layers.ContainsKey(n.Name)).Select(n => (n, _layers[n.Name]));

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Run(x, null)[Graph.Output];

    /// <summary>Runs the graph and returns the requested values (e.g. a hint layer's output for distillation) plus the graph output.</summary>
    public Dictionary<string, Tensor> ForwardValues(Tensor x, IReadOnlyCollection<string> values) => Run(x, values);

    private Dictionary<string, Tensor> Run(Tensor x, IReadOnlyCollection<string>? keep)
    {
        if (x.Rank != InputShape.Length + 1 || !x.Shape.AsSpan(1).SequenceEqual(InputShape))
            throw new ArgumentException($"input shape {ShapeUtil.Format(x.Shape)} does not match [N, {string.Join(", ", InputShape)}]");
        var env = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [Graph.Input] = x };
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (keep is not null && keep.Contains(Graph.Input)) result[Graph.Input] = x;
        var nodes = Graph.Nodes;
        for (int i = 0; i < nodes.Count; i++)
        {
            var n = nodes[i];
            var inputs = new Tensor[n.Inputs.Count];
            for (int k = 0; k < inputs.Length; k++) inputs[k] = env[n.Inputs[k]];
            var outs = GraphOps.Get(n.Op)(new GraphOpCall(n, inputs, _layers.GetValueOrDefault(n.Name), Training));
            for (int k = 0; k < n.Outputs.Count; k++)
            {
                env[n.Outputs[k]] = outs[k];
                if (keep is not null && keep.Contains(n.Outputs[k])) result[n.Outputs[k]] = outs[k];
            }
            // drop values no later node reads (the autograd graph keeps what backward needs)
            foreach (var v in n.Inputs)
                if (_lastUse[v] == i && v != Graph.Output) env.Remove(v);
        }
        result[Graph.Output] = env[Graph.Output];
        return result;
    }

    /// <summary>The graph with the forward hooks' attributes and state recorded on their nodes (what files store).</summary>
    public ModelGraph ToGraph()
    {
        var g = Graph.Clone();
        ModuleGraphExtensions.RecordHooks(this, g);
        return g;
    }

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path)
    {
        var rename = new Dictionary<string, string>(StringComparer.Ordinal) { [Graph.Input] = input };
        foreach (var n in ToGraph().Nodes)
        {
            var p = n.Params.ToDictionary(kv => kv.Key, kv => PathOf(path, kv.Value), StringComparer.Ordinal);
            var outs = g.AddMulti(PathOf(path, n.Name), n.Op, n.Inputs.Select(v => rename[v]), n.Outputs.Count, p, new Dictionary<string, AttrValue>(n.Attrs, StringComparer.Ordinal));
            for (int k = 0; k < outs.Length; k++) rename[n.Outputs[k]] = outs[k];
        }
        return rename[Graph.Output];
    }
}

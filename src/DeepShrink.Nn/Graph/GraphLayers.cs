using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn;

/// <summary>
/// Builds <see cref="GraphModule"/>s from a graph and its tensors (a file's contents), creating the
/// layer module of every parameterised node from the tensors' shapes. An op from another assembly
/// registers how its layer is made with <see cref="Register"/>.
/// </summary>
public static class GraphLayers
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Func<GraphNode, IReadOnlyDictionary<string, int[]>, Module>> s_makers = new(StringComparer.Ordinal);

    static GraphLayers()
    {
        s_makers["linear"] = (n, p) => new Linear(p["weight"][1], p["weight"][0], p.ContainsKey("bias"));
        s_makers["conv2d"] = (n, p) =>
        {
            var w = p["weight"];
            var a = ConvAttrs.Of(n);
            return new Conv2d(w[1] * a.Groups, w[0], (w[2], w[3]), a, p.ContainsKey("bias"));
        };
        s_makers["conv_transpose2d"] = (n, p) =>
        {
            var w = p["weight"];
            var a = ConvTransposeAttrs.Of(n);
            return new ConvTranspose2d(w[0], w[1] * a.Groups, (w[2], w[3]), a, p.ContainsKey("bias"));
        };
        s_makers[StructuredOps.Circulant] = (n, p) =>
        {
            var w = p["weight"];
            var a = CirculantAttrs.Of(n, w, [n.Int("input_features", w[1] * w[2])]);
            return new CirculantLinear(a.InFeatures, a.OutFeatures, w[2], a.SignSeed, p.ContainsKey("bias"));
        };
        s_makers[StructuredOps.SharedConv] = (n, p) =>
        {
            var w = p["weight"];
            var a = SharedConvAttrs.Of(n, w);
            return new SharedConv2d(w[0], w[1], w[2], a.Sharing, a.Order, a.Conv, p.ContainsKey("bias"), a.InputOrder);
        };
        s_makers["batchnorm"] = (n, p) => new BatchNorm(p["weight"][0], eps: n.Float("eps", 1e-5f));
        foreach (var op in new[] { "add", "sub", "mul", "div" })
            s_makers[op] = (n, p) => new GraphConstant(new Tensor(p["b"]));
    }

    /// <summary>Adds how the layer of a parameterised op is created from its node and parameter shapes (by role).</summary>
    public static void Register(string op, Func<GraphNode, IReadOnlyDictionary<string, int[]>, Module> maker)
    {
        ArgumentNullException.ThrowIfNull(maker);
        if (!s_makers.TryAdd(op, maker)) throw new InvalidOperationException($"graph op '{op}' already has a layer maker");
    }

    /// <summary>
    /// Creates the trainable model of <paramref name="graph"/> with the values of <paramref name="tensors"/>
    /// (by the graph's tensor names). Parameters are renamed <c>{node}.{role}</c> when the graph names them
    /// otherwise; forward hooks recorded on nodes are rebuilt by <paramref name="hooks"/> (an input-transform
    /// attribute no factory understands is an error, never silently dropped). Throws <see cref="FormatException"/>
    /// with one line when the graph and tensors do not fit.
    /// </summary>
    public static GraphModule FromTensors(ModelGraph graph, IReadOnlyDictionary<string, Tensor> tensors, IEnumerable<INodeHookFactory>? hooks = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(tensors);
        var g = graph.Clone();
        g.Validate();
        var layers = new Dictionary<string, Module>(StringComparer.Ordinal);
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var hookList = (hooks ?? []).ToList();
        foreach (var n in g.Nodes)
        {
            var roles = n.Params.Keys.Where(r => !r.StartsWith("in_", StringComparison.Ordinal)).ToList();
            var byRole = new Dictionary<string, int[]>(StringComparer.Ordinal);
            foreach (var (role, name) in n.Params)
                byRole[role] = (tensors.TryGetValue(name, out var t) ? t : throw new FormatException($"node '{n.Name}' ({n.Op}): tensor '{name}' ({role}) is missing")).Shape;
            if (roles.Count > 0)
            {
                if (!s_makers.TryGetValue(n.Op, out var make)) throw new FormatException($"node '{n.Name}': op '{n.Op}' has parameters but no layer maker");
                Module layer;
                try
                {
                    OpSchemas.Get(n.Op).CheckNode(n);
                    layer = make(n, byRole);
                }
                catch (Exception e) when (e is ArgumentException or KeyNotFoundException or IndexOutOfRangeException)
                {
                    throw new FormatException($"node '{n.Name}' ({n.Op}): parameters {string.Join(", ", byRole.Select(kv => $"{kv.Key} {ShapeUtil.Format(kv.Value)}"))} do not make a layer ({e.Message})");
                }
                layers[n.Name] = layer;
            }
            var layerOf = layers.GetValueOrDefault(n.Name);
            bool transformAttrs = n.HasInputTransform;
            if (transformAttrs || n.Params.Keys.Any(r => r.StartsWith("in_", StringComparison.Ordinal)))
            {
                if (layerOf is null) throw new FormatException($"node '{n.Name}' ({n.Op}) has an input transform but no layer");
                var hook = hookList.Select(f => f.Create(n, layerOf)).FirstOrDefault(h => h is not null)
                    ?? throw new FormatException($"node '{n.Name}' has input-transform attributes ({string.Join(", ", n.Attrs.Keys.Where(k => k.StartsWith("in_", StringComparison.Ordinal)))}) that no hook factory understands (load it with DeepShrink.Compression's InputHooks)");
                layerOf.ForwardHook = hook;
            }
            // canonical names: {node}.{role}
            foreach (var role in n.Params.Keys.ToList())
            {
                var canonical = n.Name.Length == 0 ? role : n.Name + "." + role;
                var t = tensors[n.Params[role]];
                if (state.TryGetValue(canonical, out var prev) && !ReferenceEquals(prev, t))
                    throw new FormatException($"tensor '{canonical}' would be bound twice");
                state[canonical] = t;
                n.Params[role] = canonical;
            }
        }
        // the graph keeps hook attributes on the module's hooks, not in Graph (ToGraph adds them back)
        foreach (var n in g.Nodes)
        {
            foreach (var k in n.Attrs.Keys.Where(k => k.StartsWith("in_", StringComparison.Ordinal)).ToList()) n.Attrs.Remove(k);
            foreach (var k in n.Params.Keys.Where(k => k.StartsWith("in_", StringComparison.Ordinal)).ToList()) n.Params.Remove(k);
        }
        var model = new GraphModule(g, layers);
        try { model.LoadStateDict(state); }
        catch (ArgumentException e) { throw new FormatException(e.Message); }
        model.Eval();
        return model;
    }
}

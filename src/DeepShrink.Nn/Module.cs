using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn;

/// <summary>
/// Base class of network components: owns named parameters, buffers and child modules
/// (dotted names such as <c>features.0.weight</c>), a train/eval mode, and a forward function.
/// </summary>
public abstract class Module
{
    private readonly List<(string Name, Tensor Value)> _params = new();
    private readonly List<(string Name, Tensor Value)> _buffers = new();
    private readonly List<(string Name, Module Value)> _children = new();

    /// <summary>True in training mode (dropout active, batch norm uses batch statistics).</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Computes the output for an input batch.</summary>
    public abstract Tensor Forward(Tensor x);

    private readonly List<IForwardHook> _hooks = new();

    /// <summary>
    /// Wrappers of this module's forward pass (quantisers, binarisers, activation observers), applied
    /// by <see cref="Call"/> in order, the first outermost; containers and graph modules run their
    /// children through <see cref="Call"/>.
    /// </summary>
    public IReadOnlyList<IForwardHook> ForwardHooks => _hooks;

    /// <summary>
    /// The first forward hook (null when none). Setting it replaces every hook (null removes all):
    /// the single-hook view that compression methods changing a layer's function use.
    /// </summary>
    public IForwardHook? ForwardHook
    {
        get => _hooks.Count > 0 ? _hooks[0] : null;
        set { _hooks.Clear(); if (value is not null) _hooks.Add(value); }
    }

    /// <summary>Adds a hook after the existing ones (innermost).</summary>
    public void AddForwardHook(IForwardHook hook) => _hooks.Add(hook ?? throw new ArgumentNullException(nameof(hook)));

    /// <summary>Removes a hook; false when it was not attached.</summary>
    public bool RemoveForwardHook(IForwardHook hook) => _hooks.Remove(hook);

    /// <summary><see cref="Forward"/>, through the <see cref="ForwardHooks"/> when any are set.</summary>
    public Tensor Call(Tensor x) => _hooks.Count == 0 ? Forward(x) : CallFrom(0, x);

    private Tensor CallFrom(int i, Tensor x) => i == _hooks.Count ? Forward(x) : _hooks[i].Forward(this, x, y => CallFrom(i + 1, y));

    /// <summary>Registers a trainable parameter (sets RequiresGrad).</summary>
    protected Tensor RegisterParameter(string name, Tensor value)
    {
        CheckName(name);
        value.RequiresGrad = true;
        value.Name = name;
        _params.Add((name, value));
        return value;
    }

    /// <summary>Registers a non-trainable state tensor (e.g. running statistics).</summary>
    protected Tensor RegisterBuffer(string name, Tensor value)
    {
        CheckName(name);
        _buffers.Add((name, value));
        return value;
    }

    /// <summary>Registers a child module.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        _children.Add((name, module));
        return module;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.')) throw new ArgumentException($"invalid member name '{name}'");
        if (_params.Any(p => p.Name == name) || _buffers.Any(p => p.Name == name) || _children.Any(p => p.Name == name))
            throw new ArgumentException($"duplicate member name '{name}'");
    }

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children.Select(c => (c.Name, c.Value));

    /// <summary>This module and all descendants with dotted paths ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (n, c) in _children)
            foreach (var x in c.NamedModules(Join(prefix, n))) yield return x;
    }

    /// <summary>All parameters with dotted names, in registration order.</summary>
    public IEnumerable<(string Name, Tensor Param)> NamedParameters(string prefix = "")
    {
        foreach (var (n, p) in _params) yield return (Join(prefix, n), p);
        foreach (var (n, c) in _children)
            foreach (var x in c.NamedParameters(Join(prefix, n))) yield return x;
    }

    /// <summary>All parameters.</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Param);

    /// <summary>All buffers with dotted names.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(string prefix = "")
    {
        foreach (var (n, b) in _buffers) yield return (Join(prefix, n), b);
        foreach (var (n, c) in _children)
            foreach (var x in c.NamedBuffers(Join(prefix, n))) yield return x;
    }

    /// <summary>Own parameters (not children's), by local name.</summary>
    protected IEnumerable<(string Name, Tensor Param)> LocalParameters() => _params;

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <summary>Parameters, buffers and forward-hook state by dotted name (the tensors themselves, not copies).</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>();
        foreach (var (n, p) in NamedParameters()) d[n] = p;
        foreach (var (n, b) in NamedBuffers()) d[n] = b;
        foreach (var (path, m) in NamedModules())
            foreach (var h in m.ForwardHooks)
                foreach (var (k, t) in h.State) d[Join(path, k)] = t;
        return d;
    }

    /// <summary>
    /// Copies values into this module's parameters and buffers. With <paramref name="strict"/>,
    /// missing or unexpected names and shape mismatches are errors naming the tensor.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        var own = StateDict();
        if (strict)
        {
            var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
            if (missing.Count > 0) throw new ArgumentException($"state dict is missing {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", ..." : "")}");
            var extra = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
            if (extra.Count > 0) throw new ArgumentException($"state dict has unexpected {string.Join(", ", extra.Take(5))}{(extra.Count > 5 ? ", ..." : "")}");
        }
        foreach (var (name, t) in own)
        {
            if (!state.TryGetValue(name, out var src)) continue;
            if (!ShapeUtil.SameShape(t.Shape, src.Shape))
                throw new ArgumentException($"shape mismatch for {name}: model {ShapeUtil.Format(t.Shape)}, state {ShapeUtil.Format(src.Shape)}");
            t.CopyFrom(src);
        }
    }

    /// <summary>Sets training (true) or evaluation (false) mode recursively.</summary>
    public Module Train(bool on = true)
    {
        Training = on;
        foreach (var (_, c) in _children) c.Train(on);
        return this;
    }

    /// <summary>Evaluation mode.</summary>
    public Module Eval() => Train(false);

    /// <summary>Clears all parameter gradients.</summary>
    public void ZeroGrad() { foreach (var p in Parameters()) p.Grad = null; }

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount() => Parameters().Sum(p => (long)p.Size);

    /// <summary>
    /// Appends this module's inference computation to a graph description and returns the output
    /// value name. <paramref name="path"/> is this module's dotted name (parameter prefix).
    /// </summary>
    public abstract string AppendGraph(GraphBuilder g, string input, string path);

    /// <summary>Dotted parameter name under a module path.</summary>
    protected static string PathOf(string path, string name) => Join(path, name);

    /// <summary>Output shape (without batch) for an input sample shape, via a dry forward in no-grad eval mode.</summary>
    public int[] OutputShape(int[] sampleShape)
    {
        bool was = Training;
        Eval();
        try
        {
            using var _ = Core.Autograd.Engine.NoGrad();
            var x = new Tensor(new[] { 1 }.Concat(sampleShape).ToArray());
            return Forward(x).Shape.Skip(1).ToArray();
        }
        finally { Train(was); }
    }
}

/// <summary>Graph helpers for modules.</summary>
public static class ModuleGraphExtensions
{
    /// <summary>Builds the inference graph of a whole model for samples of <paramref name="sampleShape"/>.</summary>
    public static ModelGraph AppendGraphRoot(this Module model, int[] sampleShape)
    {
        var g = new GraphBuilder(sampleShape);
        var output = model.AppendGraph(g, g.Graph.Input, "");
        RecordHooks(model, g.Graph);
        return g.Finish(output);
    }

    /// <summary>
    /// Forward hooks that change the inference function (those with graph attributes or state) are
    /// recorded on their module's node: attributes merged, state tensors referenced as parameters.
    /// </summary>
    public static void RecordHooks(Module model, ModelGraph graph)
    {
        foreach (var (path, m) in model.NamedModules())
            foreach (var h in m.ForwardHooks)
            {
                if (h.GraphAttrs.Count == 0 && h.State.Count == 0) continue; // observers do not change the function
                var node = graph.Nodes.FirstOrDefault(n => n.Name == path)
                    ?? throw new InvalidOperationException($"module '{path}' has a forward hook but no graph node of its own");
                foreach (var (k, v) in h.GraphAttrs) node.Attrs[k] = v;
                foreach (var k in h.State.Keys) node.Params[k] = path.Length == 0 ? k : path + "." + k;
            }
    }
}

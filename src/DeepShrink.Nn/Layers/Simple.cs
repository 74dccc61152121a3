using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn;

/// <summary>Flattens all axes after the batch axis.</summary>
public sealed class Flatten : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Flatten(x, 1);
    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path)
        => g.Add(path, "flatten", new[] { input }, null, new Dictionary<string, AttrValue> { ["start_axis"] = 1 });
}

/// <summary>Inverted dropout (identity in eval mode).</summary>
public sealed class Dropout : Module
{
    private readonly Rng _rng;
    /// <summary>Drop probability.</summary>
    public float P { get; }
    /// <summary>Creates the layer with its own seeded generator.</summary>
    public Dropout(float p, Rng rng)
    {
        if (p < 0f || p >= 1f) throw new ArgumentOutOfRangeException(nameof(p), "dropout probability must be in [0, 1)");
        P = p; _rng = rng.Fork();
    }
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Dropout(x, P, Training, _rng);
    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path) => input;
}

/// <summary>Element-wise activation layer.</summary>
public sealed class Activation : Module
{
    /// <summary>Graph op name: relu, leaky_relu, tanh, sigmoid, gelu.</summary>
    public string Kind { get; }
    /// <summary>Negative slope for leaky_relu.</summary>
    public float Slope { get; }

    /// <summary>Creates an activation by name.</summary>
    public Activation(string kind, float slope = 0.01f)
    {
        if (kind is not ("relu" or "leaky_relu" or "tanh" or "sigmoid" or "gelu"))
            throw new ArgumentException($"unknown activation '{kind}' (relu, leaky_relu, tanh, sigmoid, gelu)");
        Kind = kind; Slope = slope;
    }

    /// <summary>ReLU.</summary>
    public static Activation ReLU() => new("relu");

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Kind switch
    {
        "relu" => Ops.Relu(x),
        "leaky_relu" => Ops.LeakyRelu(x, Slope),
        "tanh" => Ops.Tanh(x),
        "sigmoid" => Ops.Sigmoid(x),
        _ => Ops.Gelu(x),
    };

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path)
        => g.Add(path, Kind, new[] { input }, null, Kind == "leaky_relu" ? new Dictionary<string, AttrValue> { ["slope"] = Slope } : null);
}

/// <summary>Runs child modules in order; children are named "0", "1", ... unless names are given.</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = new();

    /// <summary>Creates from modules named by position.</summary>
    public Sequential(params Module[] layers)
    {
        for (int i = 0; i < layers.Length; i++) Add(i.ToString(System.Globalization.CultureInfo.InvariantCulture), layers[i]);
    }

    /// <summary>Creates from named modules.</summary>
    public Sequential(params (string Name, Module Layer)[] layers)
    {
        foreach (var (n, l) in layers) Add(n, l);
    }

    /// <summary>Appends a named module.</summary>
    public Sequential Add(string name, Module m) { _layers.Add(RegisterModule(name, m)); return this; }

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<Module> Layers => _layers;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        foreach (var l in _layers) x = l.Call(x);
        return x;
    }

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path)
    {
        string v = input;
        foreach (var (n, m) in NamedChildren()) v = m.AppendGraph(g, v, PathOf(path, n));
        return v;
    }
}

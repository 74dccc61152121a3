using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn;

/// <summary>
/// Builds a <see cref="GraphModule"/> layer by layer (a functional API): each call creates the
/// layer with seeded initialisation, appends its node and returns the output value, tracking
/// per-sample shapes through the op schemas. Used by the model zoo and by tests that define graphs.
/// </summary>
public sealed class NetBuilder
{
    private readonly GraphBuilder _g;
    private readonly Rng _rng;
    private readonly Dictionary<string, Module> _layers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int[]> _shapes = new(StringComparer.Ordinal);

    /// <summary>Starts a network for samples of <paramref name="inputShape"/> with a seeded generator for the weights.</summary>
    public NetBuilder(int[] inputShape, Rng rng)
    {
        _g = new GraphBuilder(inputShape);
        _rng = rng;
        _shapes[_g.Graph.Input] = inputShape;
    }

    /// <summary>The input value.</summary>
    public string Input => _g.Graph.Input;

    /// <summary>Per-sample shape of a value.</summary>
    public int[] Shape(string value) => _shapes[value];

    /// <summary>Fully connected layer on a [features] value.</summary>
    public string Linear(string name, string x, int outFeatures, bool bias = true)
        => Layer(name, "linear", x, new Linear(Shape(x)[0], outFeatures, _rng, bias), bias, null);

    /// <summary>Square convolution.</summary>
    public string Conv(string name, string x, int outChannels, int kernel, int stride = 1, int padding = 0, int groups = 1, bool bias = true, int dilation = 1)
        => Conv(name, x, outChannels, (kernel, kernel), new ConvAttrs(stride, stride, padding, padding, dilation, dilation, groups), bias);

    /// <summary>Convolution of any kernel shape and geometry.</summary>
    public string Conv(string name, string x, int outChannels, (int H, int W) kernel, ConvAttrs geometry, bool bias = true)
        => Layer(name, "conv2d", x, new Conv2d(Shape(x)[0], outChannels, kernel, geometry, _rng, bias), bias, geometry.ToAttrs());

    /// <summary>Batch normalisation over the channel axis.</summary>
    public string BatchNorm(string name, string x, float eps = 1e-5f)
    {
        var bn = new BatchNorm(Shape(x)[0], eps: eps);
        return Node(name, "batchnorm", [x], bn, new Dictionary<string, AttrValue> { ["eps"] = eps },
            ["weight", "bias", "running_mean", "running_var"]);
    }

    /// <summary>A parameter-free op.</summary>
    public string Op(string name, string op, string[] inputs, Dictionary<string, AttrValue>? attrs = null) => Node(name, op, inputs, null, attrs, []);

    /// <summary>A parameter-free op on one input.</summary>
    public string Op(string name, string op, string x, Dictionary<string, AttrValue>? attrs = null) => Op(name, op, [x], attrs);

    private string Layer(string name, string op, string x, Module layer, bool bias, Dictionary<string, AttrValue>? attrs)
        => Node(name, op, [x], layer, attrs, bias ? ["weight", "bias"] : ["weight"]);

    private string Node(string name, string op, string[] inputs, Module? layer, Dictionary<string, AttrValue>? attrs, string[] roles)
    {
        var p = roles.ToDictionary(r => r, r => name + "." + r, StringComparer.Ordinal);
        string v = _g.Add(name, op, inputs, p, attrs);
        var node = _g.Graph.Nodes[^1];
        if (layer is not null) _layers[name] = layer;
        var schema = OpSchemas.Get(op);
        schema.CheckNode(node);
        var ctx = new OpContext(node, inputs.Select(i => _shapes[i]).ToArray(),
            role => layer is null || !p.ContainsKey(role) ? null
                : layer.NamedParameters().Concat(layer.NamedBuffers()).First(t => t.Item1 == role).Item2.Shape);
        _shapes[v] = schema.InferShapes(ctx)[0];
        return v;
    }

    /// <summary>Finishes the network with <paramref name="output"/> as its output.</summary>
    public GraphModule Finish(string output) => new(_g.Finish(output), _layers);
}

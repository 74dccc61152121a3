namespace DeepShrink.Core.Graph;

/// <summary>
/// The one description of a model: named values flowing through a list of nodes in topological
/// order. The trainer (<c>GraphModule</c> in DeepShrink.Nn), the runtime, the analysis, the ONNX
/// exporter and importer all read it; <see cref="OpSchemas"/> defines each op's inputs, parameters,
/// attributes, shape inference and cost. Stored as JSON in <c>.dsz</c> files and in the metadata of
/// safetensors checkpoints.
/// </summary>
/// <remarks>
/// Values are per-sample (the batch axis is implicit). Node parameters map a role (<c>weight</c>,
/// <c>bias</c>, ...) to a tensor name; attributes are typed (<see cref="AttrValue"/>). The ops, their
/// attributes and defaults are listed by <see cref="OpSchemas"/> and in docs/FORMAT-dsz.md. Input
/// transforms of quantised and binary models are attributes <c>in_quant_*</c>, <c>in_fixed_*</c>,
/// <c>in_binary*</c> and parameters <c>in_mean</c>, <c>in_var</c> on <c>linear</c>/<c>conv2d</c> nodes.
/// Version 1 files (numeric attributes, one output per node) read unchanged.
/// </remarks>
public sealed class ModelGraph
{
    /// <summary>Version written by <see cref="ToJson"/>.</summary>
    public const int CurrentVersion = 2;

    /// <summary>Name of the graph input value.</summary>
    public string Input { get; set; } = "input";
    /// <summary>Shape of one input sample (without the batch axis), e.g. [1, 28, 28].</summary>
    public int[] InputShape { get; set; } = Array.Empty<int>();
    /// <summary>Name of the graph output value.</summary>
    public string Output { get; set; } = "output";
    /// <summary>Nodes in execution order.</summary>
    public List<GraphNode> Nodes { get; set; } = new();

    /// <summary>Serialises to JSON (version <see cref="CurrentVersion"/>).</summary>
    public string ToJson() => ModelGraphJson.Write(this);

    /// <summary>Parses JSON (every version) and validates the graph; throws <see cref="FormatException"/> with one line on error.</summary>
    public static ModelGraph FromJson(string json)
    {
        var g = ModelGraphJson.Read(json);
        g.Validate();
        return g;
    }

    /// <summary>A deep copy.</summary>
    public ModelGraph Clone() => new()
    {
        Input = Input, InputShape = InputShape.ToArray(), Output = Output,
        Nodes = Nodes.Select(n => n.Clone()).ToList(),
    };

    /// <summary>Checks that every node input is defined before use, values are defined once and the output exists.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Input)) throw new FormatException("graph input has no name");
        var defined = new HashSet<string>(StringComparer.Ordinal) { Input };
        foreach (var n in Nodes)
        {
            if (n is null) throw new FormatException("graph has a null node");
            if (string.IsNullOrEmpty(n.Op)) throw new FormatException($"graph node '{n.Name}' has no op");
            if (n.Outputs.Count == 0) throw new FormatException($"graph node '{n.Name}' ({n.Op}) has no output");
            foreach (var i in n.Inputs)
                if (!defined.Contains(i)) throw new FormatException($"graph node '{n.Name}' ({n.Op}) uses undefined value '{i}'");
            foreach (var o in n.Outputs)
                if (string.IsNullOrEmpty(o) || !defined.Add(o)) throw new FormatException($"graph value '{o}' of node '{n.Name}' is empty or defined twice");
        }
        if (!defined.Contains(Output)) throw new FormatException($"graph output '{Output}' is never produced");
    }

    /// <summary>All parameter tensor names referenced by nodes (each once, in node order).</summary>
    public IEnumerable<string> ParameterNames() => Nodes.SelectMany(n => n.Params.Values).Distinct(StringComparer.Ordinal);

    /// <summary>The node producing <paramref name="value"/>, or null for the graph input.</summary>
    public GraphNode? Producer(string value) => Nodes.FirstOrDefault(n => n.Outputs.Contains(value));

    /// <summary>Nodes reading <paramref name="value"/>.</summary>
    public IEnumerable<GraphNode> Consumers(string value) => Nodes.Where(n => n.Inputs.Contains(value));

    /// <summary>The node named <paramref name="name"/>, or null.</summary>
    public GraphNode? Find(string name) => Nodes.FirstOrDefault(n => n.Name == name);

    /// <summary>
    /// The names of the weighted layers that read the network input itself: nodes with a <c>weight</c> parameter
    /// (linear, convolution, structured layers) such that no path from the graph input to them passes through another
    /// weighted layer. Parameter-free ops (flatten, reshape, pad, element-wise ops with constants) and <c>batchnorm</c>
    /// (a per-channel affine map that mixes no features) may lie between. Decided from the graph alone, so imported
    /// models qualify the same way as the model zoo's.
    /// </summary>
    public HashSet<string> LayersOnInput()
    {
        var raw = new HashSet<string>(StringComparer.Ordinal) { Input }; // values computed from the input by no weighted layer
        var layers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in Nodes)
        {
            bool onInput = n.Inputs.Count > 0 && n.Inputs.All(raw.Contains);
            if (n.Params.ContainsKey("weight") && n.Op != "batchnorm") { if (onInput) layers.Add(n.Name); }
            else if (onInput) raw.UnionWith(n.Outputs);
        }
        return layers;
    }
}

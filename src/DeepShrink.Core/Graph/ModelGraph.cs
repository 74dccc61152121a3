using System.Text.Json;
using System.Text.Json.Serialization;

namespace DeepShrink.Core.Graph;

/// <summary>
/// A framework-neutral description of an inference graph: named values flowing through a list of
/// nodes in topological order. Written into <c>.dsz</c> files and read by the runtime and the ONNX
/// exporter, so neither needs the training code.
/// </summary>
/// <remarks>
/// Op names and attributes (all NCHW):
/// <list type="bullet">
/// <item><c>linear</c>: params weight [out, in], bias [out]?</item>
/// <item><c>conv2d</c>: params weight [O, C/g, kh, kw], bias?; attrs stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups</item>
/// <item><c>batchnorm</c>: params weight, bias, running_mean, running_var; attrs eps</item>
/// <item><c>relu</c>, <c>leaky_relu</c> (attr slope), <c>tanh</c>, <c>sigmoid</c>, <c>gelu</c></item>
/// <item><c>maxpool2d</c>, <c>avgpool2d</c>: attrs kernel, stride, pad; <c>global_avgpool2d</c></item>
/// <item><c>flatten</c>: attr start_axis (default 1); <c>add</c>: two inputs; <c>identity</c></item>
/// <item>on <c>linear</c>/<c>conv2d</c>, input transforms of quantised and binary models: attrs <c>in_quant_*</c>,
/// <c>in_fixed_*</c>, <c>in_binary*</c> and params <c>in_mean</c>, <c>in_var</c> (docs/FORMAT-dsz.md)</item>
/// </list>
/// </remarks>
public sealed class ModelGraph
{
    /// <summary>Name of the graph input value.</summary>
    public string Input { get; set; } = "input";
    /// <summary>Shape of one input sample (without the batch axis), e.g. [1, 28, 28].</summary>
    public int[] InputShape { get; set; } = Array.Empty<int>();
    /// <summary>Name of the graph output value (logits).</summary>
    public string Output { get; set; } = "output";
    /// <summary>Nodes in execution order.</summary>
    public List<GraphNode> Nodes { get; set; } = new();

    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
    };

    /// <summary>Serialises to JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, s_json);

    /// <summary>Parses JSON and validates the graph; throws <see cref="FormatException"/> with one line on error.</summary>
    public static ModelGraph FromJson(string json)
    {
        ModelGraph? g;
        try { g = JsonSerializer.Deserialize<ModelGraph>(json, s_json); }
        catch (JsonException e) { throw new FormatException($"invalid model graph JSON: {e.Message}"); }
        if (g is null) throw new FormatException("model graph JSON is null");
        g.Validate();
        return g;
    }

    /// <summary>Checks that every node input is defined before use and the output exists.</summary>
    public void Validate()
    {
        var defined = new HashSet<string> { Input };
        foreach (var n in Nodes)
        {
            if (string.IsNullOrEmpty(n.Op)) throw new FormatException("graph node without op");
            foreach (var i in n.Inputs)
                if (!defined.Contains(i)) throw new FormatException($"graph node '{n.Name}' ({n.Op}) uses undefined value '{i}'");
            if (!defined.Add(n.Output)) throw new FormatException($"graph value '{n.Output}' defined twice");
        }
        if (!defined.Contains(Output)) throw new FormatException($"graph output '{Output}' is never produced");
    }

    /// <summary>All parameter tensor names referenced by nodes.</summary>
    public IEnumerable<string> ParameterNames() => Nodes.SelectMany(n => n.Params.Values);
}

/// <summary>One operation of a <see cref="ModelGraph"/>.</summary>
public sealed class GraphNode
{
    /// <summary>Node name (usually the module's dotted path, e.g. <c>fc1</c>).</summary>
    public string Name { get; set; } = "";
    /// <summary>Operation name (see <see cref="ModelGraph"/> remarks).</summary>
    public string Op { get; set; } = "";
    /// <summary>Input value names.</summary>
    public List<string> Inputs { get; set; } = new();
    /// <summary>Output value name.</summary>
    public string Output { get; set; } = "";
    /// <summary>Role (weight, bias, ...) to tensor name.</summary>
    public Dictionary<string, string> Params { get; set; } = new();
    /// <summary>Numeric attributes.</summary>
    public Dictionary<string, double> Attrs { get; set; } = new();

    /// <summary>Integer attribute with a default.</summary>
    public int Int(string key, int dflt) => Attrs.TryGetValue(key, out var v) ? (int)v : dflt;
    /// <summary>Float attribute with a default.</summary>
    public float Float(string key, float dflt) => Attrs.TryGetValue(key, out var v) ? (float)v : dflt;
}

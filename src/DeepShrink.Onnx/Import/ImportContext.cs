using System.Text;
using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Onnx.Import;

/// <summary>
/// The state of one import: which ONNX values are constants and which flow from the model input
/// (with their per-sample shapes), the graph being built and its parameter tensors.
/// </summary>
internal sealed class ImportContext(int opset, OnnxImportOptions options, ISet<string> used)
{
    /// <summary>A value flowing from the model input: its graph value name and per-sample shape.</summary>
    public sealed record Value(string Name, int[] Shape)
    {
        /// <summary>Rank including the batch axis.</summary>
        public int FullRank => Shape.Length + 1;
    }

    private readonly Dictionary<string, OnnxConst> _consts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _graphValues = new(StringComparer.Ordinal);

    public int Opset { get; } = opset;
    public OnnxImportOptions Options { get; } = options;
    public ModelGraph Graph { get; } = new();
    public Dictionary<string, Tensor> Tensors { get; } = new(StringComparer.Ordinal);
    /// <summary>Reads tensor protos within the element limits (shared so the total is counted once).</summary>
    public OnnxTensorReader Reader { get; } = new(options);
    /// <summary>Batch dimension declared by the ONNX input (1 for the usual fixed-batch exports, -1 when symbolic).</summary>
    public long DeclaredBatch { get; set; } = -1;

    public bool IsUsed(string onnxName) => used.Contains(onnxName);

    public OnnxConst? TryConst(string onnxName) => _consts.TryGetValue(onnxName, out var c) ? c : null;

    public void SetConst(string onnxName, OnnxConst c) => _consts[onnxName] = c;

    public bool IsDefined(string onnxName) => _consts.ContainsKey(onnxName) || _values.ContainsKey(onnxName);

    public Value Runtime(string onnxName) => _values.TryGetValue(onnxName, out var v) ? v
        : throw new OnnxImportException($"value '{onnxName}' is used before it is defined");

    /// <summary>Makes an ONNX value name refer to an existing graph value (dropped ops).</summary>
    public void Alias(string onnxName, Value v) => _values[onnxName] = v;

    /// <summary>Declares the graph input.</summary>
    public Value DefineInput(string onnxName, int[] sampleShape)
    {
        Graph.Input = onnxName;
        Graph.InputShape = sampleShape;
        _graphValues.Add(onnxName);
        return _values[onnxName] = new Value(onnxName, sampleShape);
    }

    /// <summary>A unique, valid dotted node name derived from an ONNX node name (or the op and index when empty).</summary>
    public string UniqueName(string onnxName, string op, int index)
    {
        string baseName = Sanitize(onnxName);
        if (baseName.Length == 0) baseName = $"{Sanitize(op).ToLowerInvariant()}_{index}";
        string name = baseName;
        for (int k = 2; !_names.Add(name); k++) name = $"{baseName}_{k}";
        return name;
    }

    /// <summary>
    /// Appends a graph node, stores its parameters as <c>{name}.{role}</c> and infers its output shape with
    /// the op schema. <paramref name="onnxOutput"/> is the ONNX value it defines (null for a helper node).
    /// </summary>
    public Value Emit(string name, string op, IReadOnlyList<Value> inputs, string? onnxOutput,
        IReadOnlyDictionary<string, Tensor>? parameters = null, IReadOnlyDictionary<string, AttrValue>? attrs = null)
    {
        if (!_names.Contains(name)) _names.Add(name);
        string outName = onnxOutput ?? $"{name}:out";
        for (int k = 2; _graphValues.Contains(outName); k++) outName = $"{onnxOutput ?? name + ":out"}#{k}";
        var node = new GraphNode { Name = name, Op = op, Inputs = inputs.Select(v => v.Name).ToList(), Output = outName };
        foreach (var (role, t) in parameters ?? new Dictionary<string, Tensor>())
        {
            string tn = $"{name}.{role}";
            if (!Tensors.TryAdd(tn, t)) throw new OnnxImportException($"parameter name '{tn}' is used twice");
            node.Params[role] = tn;
        }
        foreach (var (key, val) in attrs ?? new Dictionary<string, AttrValue>()) node.Attrs[key] = val;
        var schema = OpSchemas.Get(op);
        int[] shape;
        try
        {
            schema.CheckNode(node);
            var ctx = new OpContext(node, inputs.Select(v => v.Shape).ToArray(), role => node.Params.TryGetValue(role, out var t) ? Tensors[t].Shape : null);
            shape = schema.InferShapes(ctx)[0];
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            throw new OnnxImportException($"cannot build {op} node '{name}': {e.Message}");
        }
        if (ShapeUtil.Numel(shape) > Options.MaxTensorElements)
            throw new OnnxImportException($"{op} node '{name}' yields {ShapeUtil.Format(shape)} per sample, more than {Options.MaxTensorElements} elements");
        Graph.Nodes.Add(node);
        _graphValues.Add(outName);
        var v = new Value(outName, shape);
        if (onnxOutput is not null) _values[onnxOutput] = v;
        return v;
    }

    /// <summary>Node names: segments of letters, digits and '_' joined by '.'; '/' and ':' separate segments too.</summary>
    public static string Sanitize(string s)
    {
        var segs = s.Split(['/', '.', ':'], StringSplitOptions.RemoveEmptyEntries)
            .Select(seg =>
            {
                var b = new StringBuilder(seg.Length);
                foreach (char ch in seg) b.Append(char.IsAsciiLetterOrDigit(ch) || ch == '_' ? ch : '_');
                return b.ToString().Trim('_');
            })
            .Where(seg => seg.Length > 0);
        string r = string.Join('.', segs);
        return r.Length > 200 ? r[..200].TrimEnd('.') : r;
    }
}

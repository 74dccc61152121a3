using DeepShrink.Core;
using DeepShrink.Core.Graph;
using Google.Protobuf;
using Onnx;

namespace DeepShrink.Onnx.Import;

/// <summary>
/// Imports an ONNX model (opsets 7 to 21) as a per-sample <see cref="ModelGraph"/> with float32
/// parameters: the batch axis of the single data input becomes dynamic, constants and shape
/// arithmetic are folded, Dropout and Identity are dropped, and every node maps onto a built-in op
/// (see <see cref="SupportedOperators"/>). Anything else fails with one
/// <see cref="OnnxImportException"/> line naming the operator, the node and the opset.
/// </summary>
/// <remarks>
/// Hostile files are refused before allocation: declared tensor sizes are checked against
/// <see cref="OnnxImportOptions.MaxTensorElements"/> and <see cref="OnnxImportOptions.MaxTotalElements"/>,
/// <c>raw_data</c> must match the declared shape, undefined values and cycles are reported by name.
/// </remarks>
public static class OnnxImporter
{
    /// <summary>Oldest supported opset of the default domain.</summary>
    public const int MinOpset = 7;
    /// <summary>Newest supported opset of the default domain.</summary>
    public const int MaxOpset = 21;
    private const long MaxFileBytes = int.MaxValue;

    /// <summary>ONNX operators the importer understands (some only on constants).</summary>
    public static IReadOnlyList<string> SupportedOperators { get; } = OnnxConverters.Table.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>Imports an .onnx file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="OnnxImportException">The model is malformed or uses an unsupported operator.</exception>
    public static ImportedModel Import(string path, OnnxImportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"ONNX model not found: {path}", path);
        if (info.Length > MaxFileBytes) throw new OnnxImportException($"{path}: {info.Length} bytes is larger than a protobuf can be");
        try { return Import(File.ReadAllBytes(path), options); }
        catch (OnnxImportException e) { throw new OnnxImportException($"{Path.GetFileName(path)}: {e.Message}", e); }
    }

    /// <summary>Imports an ONNX model held in memory.</summary>
    /// <exception cref="OnnxImportException">The model is malformed or uses an unsupported operator.</exception>
    public static ImportedModel Import(byte[] bytes, OnnxImportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        options ??= OnnxImportOptions.Default;
        options.Validate();
        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(bytes); }
        catch (InvalidProtocolBufferException e) { throw new OnnxImportException($"not a valid ONNX protobuf ({e.Message.ReplaceLineEndings(" ")})", e); }
        var g = model.Graph ?? throw new OnnxImportException("the model has no graph");
        int opset = Opset(model);
        var used = new HashSet<string>(g.Node.SelectMany(n => n.Input).Concat(g.Output.Select(o => o.Name)), StringComparer.Ordinal);
        var ctx = new ImportContext(opset, options, used);
        foreach (var t in g.Initializer)
        {
            if (ctx.IsDefined(t.Name)) throw new OnnxImportException($"initializer '{t.Name}' is defined twice");
            ctx.SetConst(t.Name, ctx.Reader.Read(t, $"initializer '{t.Name}'"));
        }
        var (inputName, declared) = DefineInput(g, ctx);
        if (g.Output.Count != 1) throw new OnnxImportException($"the graph has {g.Output.Count} outputs; exactly one is supported");
        var ops = new List<KeyValuePair<string, int>>();
        foreach (var grp in g.Node.GroupBy(n => n.OpType)) ops.Add(new(grp.Key, grp.Count()));
        foreach (var (node, index) in TopologicalOrder(g, ctx))
            Convert(node, index, ctx);
        string output = g.Output[0].Name;
        if (ctx.TryConst(output) is not null) throw new OnnxImportException($"the output '{output}' is a constant (it does not depend on the input)");
        var v = ctx.Runtime(output);
        if (v.Name == ctx.Graph.Input) v = ctx.Emit(ctx.UniqueName("identity", "", 0), "identity", [v], null);
        ctx.Graph.Output = v.Name;
        PruneDeadNodes(ctx);
        try { GraphAnalysis.Analyze(ctx.Graph, name => ctx.Tensors.TryGetValue(name, out var t) ? t.Shape : null); }
        catch (FormatException e) { throw new OnnxImportException($"the imported graph is invalid: {e.Message}", e); }
        string producer = $"{model.ProducerName} {model.ProducerVersion}".Trim();
        var info = new OnnxModelInfo(opset, model.IrVersion, producer, inputName, output, declared, ops);
        return new ImportedModel(ctx.Graph, ctx.Tensors, info);
    }

    private static int Opset(ModelProto model)
    {
        var def = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").ToArray();
        if (def.Length == 0) throw new OnnxImportException("the model imports no opset of the default ONNX domain");
        long v = def.Max(o => o.Version);
        if (v < MinOpset || v > MaxOpset) throw new OnnxImportException($"opset {v} is not supported (supported: {MinOpset} to {MaxOpset})");
        return (int)v;
    }

    /// <summary>The one data input (inputs that are initializers do not count): float32, fixed sample dimensions.</summary>
    private static (string Name, long[] Declared) DefineInput(GraphProto g, ImportContext ctx)
    {
        var inputs = g.Input.Where(i => !ctx.IsDefined(i.Name)).ToArray();
        if (inputs.Length != 1)
            throw new OnnxImportException($"the graph has {inputs.Length} data inputs ({string.Join(", ", inputs.Select(i => "'" + i.Name + "'"))}); exactly one is supported (a weight without initializer counts as an input)");
        var inp = inputs[0];
        var tt = inp.Type?.TensorType ?? throw new OnnxImportException($"input '{inp.Name}' is not a tensor");
        if (tt.ElemType != (int)TensorProto.Types.DataType.Float)
            throw new OnnxImportException($"input '{inp.Name}' has element type {(TensorProto.Types.DataType)tt.ElemType}; only float32 inputs are supported");
        var dims = tt.Shape?.Dim ?? throw new OnnxImportException($"input '{inp.Name}' has no declared shape");
        if (dims.Count < 2) throw new OnnxImportException($"input '{inp.Name}' has rank {dims.Count}; expected [batch, sample dims...]");
        var declared = dims.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : -1).ToArray();
        if (declared.Skip(1).Any(d => d < 1))
            throw new OnnxImportException($"input '{inp.Name}' has shape [{string.Join(", ", declared.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]; every dimension after the batch must be fixed and positive");
        var sample = ctx.Reader.CheckShape(declared[1..], $"input '{inp.Name}'");
        ctx.DeclaredBatch = declared[0];
        ctx.DefineInput(inp.Name, sample);
        return (inp.Name, declared);
    }

    /// <summary>Nodes in an order where every input is defined first (file order when it already is); undefined values and cycles are errors.</summary>
    private static IEnumerable<(NodeProto Node, int Index)> TopologicalOrder(GraphProto g, ImportContext ctx)
    {
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < g.Node.Count; i++)
            foreach (var o in g.Node[i].Output.Where(o => o.Length > 0))
                if (ctx.IsDefined(o) || !producer.TryAdd(o, i))
                    throw new OnnxImportException($"value '{o}' is defined twice (node '{g.Node[i].Name}' ({g.Node[i].OpType}))");
        var waiting = new int[g.Node.Count];
        var consumers = Enumerable.Range(0, g.Node.Count).Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < g.Node.Count; i++)
        {
            foreach (var inp in g.Node[i].Input.Where(x => x.Length > 0).Distinct())
            {
                if (producer.TryGetValue(inp, out int p)) { waiting[i]++; consumers[p].Add(i); }
                else if (!ctx.IsDefined(inp))
                    throw new OnnxImportException($"node '{g.Node[i].Name}' ({g.Node[i].OpType}) uses '{inp}', which is neither an initializer, the input nor a node output (missing initializer?)");
            }
        }
        var ready = new SortedSet<int>(Enumerable.Range(0, g.Node.Count).Where(i => waiting[i] == 0));
        int done = 0;
        while (ready.Count > 0)
        {
            int i = ready.Min;
            ready.Remove(i);
            done++;
            yield return (g.Node[i], i);
            foreach (int c in consumers[i]) if (--waiting[c] == 0) ready.Add(c);
        }
        if (done != g.Node.Count)
        {
            int stuck = Enumerable.Range(0, g.Node.Count).First(i => waiting[i] > 0);
            throw new OnnxImportException($"the graph has a cycle through node '{g.Node[stuck].Name}' ({g.Node[stuck].OpType})");
        }
    }

    private static void Convert(NodeProto node, int index, ImportContext ctx)
    {
        string where = $"node '{node.Name}' ({node.OpType}, opset {ctx.Opset})";
        if (node.Domain is not ("" or "ai.onnx"))
            throw new OnnxImportException($"unsupported ONNX operator '{node.Domain}.{node.OpType}' ({where})");
        if (!OnnxConverters.Table.TryGetValue(node.OpType, out var convert))
            throw new OnnxImportException($"unsupported ONNX operator '{node.OpType}' ({where})");
        if (node.Output.Count == 0) throw new OnnxImportException($"{where} has no output");
        var view = new NodeView(node, ctx.UniqueName(node.Name, node.OpType, index), ctx);
        try { convert(view, ctx); }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException or IndexOutOfRangeException or InvalidCastException)
        {
            throw new OnnxImportException($"{where}: {e.Message}", e);
        }
    }

    /// <summary>Removes nodes whose outputs nothing reads (e.g. left by folded or dropped branches) and their tensors.</summary>
    private static void PruneDeadNodes(ImportContext ctx)
    {
        var nodes = ctx.Graph.Nodes;
        var live = new HashSet<string>(StringComparer.Ordinal) { ctx.Graph.Output };
        for (int i = nodes.Count - 1; i >= 0; i--)
        {
            if (nodes[i].Outputs.Any(live.Contains)) { foreach (var x in nodes[i].Inputs) live.Add(x); continue; }
            foreach (var t in nodes[i].Params.Values) ctx.Tensors.Remove(t);
            nodes.RemoveAt(i);
        }
    }
}

using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// Turns a <see cref="ModelGraph"/> and its stored tensors into an <see cref="ExecutionPlan"/>:
/// per-sample shape inference with one-line errors, weight storage chosen per layer, a following
/// ReLU folded into linear/conv/batchnorm/add/sub/mul/div, element-wise steps run in place when their
/// input dies, and flatten/reshape/identity as free aliases. Output shapes of the graph-v2 ops come from
/// their <see cref="OpSchemas"/> entries.
/// </summary>
internal sealed partial class GraphPlanner
{
    /// <summary>Every op the runtime executes.</summary>
    public static readonly string[] SupportedOps =
        ["linear", "conv2d", "conv_transpose2d", "batchnorm", "relu", "leaky_relu", "tanh", "sigmoid", "gelu",
         "maxpool2d", "avgpool2d", "global_avgpool2d", "flatten", "add", "identity",
         "reshape", "concat", "pad", "clip", "hard_sigmoid", "hard_swish", "softmax", "sub", "mul", "div",
         StructuredOps.Circulant, StructuredOps.SharedConv];

    private readonly ModelGraph _graph;
    private readonly Func<string, EncodedTensor?> _tensors;
    private readonly RuntimeOptions _options;
    private readonly int _threads;
    private readonly Dictionary<string, (int[] Shape, int Storage)> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _lastUse = new(StringComparer.Ordinal);
    private readonly Dictionary<int, List<string>> _storageValues = new();
    private readonly HashSet<int> _absorbed = new();
    private readonly List<Step> _steps = new();
    private readonly List<LayerReport> _layers = new();
    private int _storages;

    private GraphPlanner(ModelGraph graph, Func<string, EncodedTensor?> tensors, RuntimeOptions options, int threads)
    {
        _graph = graph; _tensors = tensors; _options = options; _threads = threads;
    }

    /// <summary>Plans a graph; <paramref name="threads"/> is used for the load-time measurements.</summary>
    public static ExecutionPlan Plan(ModelGraph graph, Func<string, EncodedTensor?> tensors, RuntimeOptions options, int threads)
    {
        try { graph.Validate(); }
        catch (FormatException e) { throw new InvalidDataException(e.Message); }
        (graph, tensors) = ExpandSharedFilters(graph, tensors, options.ReadOptions, options.CirculantFftMinBlock);
        if (options.FoldBatchNorm) (graph, tensors) = BatchNormFolding.Apply(graph, tensors, options.ReadOptions);
        return new GraphPlanner(graph, tensors, options, threads).Build();
    }

    private ExecutionPlan Build()
    {
        var inShape = _graph.InputShape ?? [];
        if (inShape.Length == 0 || inShape.Any(d => d <= 0))
            throw new InvalidDataException($"graph input shape {ShapeUtil.Format(inShape)} must be non-empty with positive dimensions");
        Define(_graph.Input, inShape, NewStorage());
        var nodes = _graph.Nodes;
        for (int i = 0; i < nodes.Count; i++)
            foreach (var v in nodes[i].Inputs) _lastUse[v] = i;
        for (int i = 0; i < nodes.Count; i++)
        {
            var n = nodes[i];
            try { PlanNode(i, n); }
            catch (DszFormatException) { throw; }
            catch (FormatException e) // most schema errors name the node already
            {
                throw new InvalidDataException(e.Message.StartsWith("node '", StringComparison.Ordinal) ? e.Message : $"node '{n.Name}' ({n.Op}): {e.Message}", e);
            }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or KeyNotFoundException)
            {
                throw new InvalidDataException($"node '{n.Name}' ({n.Op}): {e.Message}", e);
            }
        }
        var output = _values[_graph.Output];
        return new ExecutionPlan
        {
            Steps = _steps.ToArray(), StorageCount = _storages, InputStorage = 0, OutputStorage = output.Storage,
            ReleaseAfter = Liveness(output.Storage), InputShape = inShape.ToArray(), OutputShape = output.Shape,
            Layers = _layers.ToArray(),
        };
    }

    private void PlanNode(int index, GraphNode n)
    {
        if (_absorbed.Contains(index))
        {   // a relu folded into its producer: same storage, same shape
            var v = _values[n.Inputs[0]];
            Define(n.Output, v.Shape, v.Storage);
            return;
        }
        if (Array.IndexOf(SupportedOps, n.Op) < 0)
            throw new InvalidDataException($"unsupported op '{n.Op}' (supported: {string.Join(", ", SupportedOps)})");
        OpSchemas.Get(n.Op).CheckNode(n);
        if (PlanV2(index, n)) return;
        var x = _values[n.Inputs[0]];
        switch (n.Op)
        {
            case "flatten": Define(n.Output, FlattenShape(n, x.Shape), x.Storage); return;
            case "identity": Define(n.Output, x.Shape, x.Storage); return;
            case "linear": AddStep(index, n, PlanLinear(n, x), Ops.Fusable); return;
            case StructuredOps.Circulant: AddStep(index, n, PlanCirculant(n, x), Ops.Fusable); return;
            case "conv2d": AddStep(index, n, PlanConv(n, x), Ops.Fusable); return;
            case "conv_transpose2d": AddStep(index, n, PlanConvTranspose(n, x), Ops.Fusable); return;
            case "batchnorm": AddStep(index, n, PlanBatchNorm(n, x), Ops.Fusable); return;
            case "global_avgpool2d":
                Expect(x.Shape, 3, "[C, H, W]");
                AddStep(index, n, (new GlobalAvgPoolStep(n.Name, x.Storage, x.Shape[0], x.Shape[1] * x.Shape[2]), [x.Shape[0], 1, 1]), Ops.None);
                return;
            case "maxpool2d" when TryFusePool(index, n, x): return;
            case "maxpool2d" or "avgpool2d": AddStep(index, n, PlanPool(n, x), Ops.None); return;
            default:
                float slope = n.Float("slope", 0.01f);
                AddStep(index, n, (new ActivationStep(n.Name, n.Op, x.Storage, -1, ShapeUtil.Numel(x.Shape), slope), x.Shape), Ops.None);
                return;
        }
    }

    private enum Ops { None, Fusable }

    /// <summary>Registers a step: folds a sole following relu, picks in-place output, defines the value.</summary>
    private void AddStep(int index, GraphNode n, (Step Step, int[] Shape) made, Ops fuse)
    {
        var (step, shape) = made;
        if (fuse == Ops.Fusable && SoleReluConsumer(index, n.Output) is int relu)
        {
            step.FuseRelu = true;
            _absorbed.Add(relu);
        }
        int output = -1;
        if (step.CanRunInPlace)
            for (int i = 0; i < step.Inputs.Length && output < 0; i++)
                if (step.InputSizes[i] == step.OutputSize && DiesAt(step.Inputs[i], index)) output = step.Inputs[i];
        step.Output = output >= 0 ? output : NewStorage();
        _steps.Add(step);
        Define(n.Output, shape, step.Output);
    }

    /// <summary>Index of the only node reading <paramref name="value"/> when it is a relu (and the value is not the graph output).</summary>
    private int? SoleReluConsumer(int index, string value)
    {
        if (value == _graph.Output) return null;
        int? found = null;
        for (int j = index + 1; j < _graph.Nodes.Count; j++)
        {
            var m = _graph.Nodes[j];
            int uses = m.Inputs.Count(v => v == value);
            if (uses == 0) continue;
            if (found is not null || uses > 1 || m.Op != "relu") return null;
            found = j;
        }
        return found;
    }

    /// <summary>True when no value sharing <paramref name="storage"/> is read after node <paramref name="index"/> or is the graph output.</summary>
    private bool DiesAt(int storage, int index) =>
        _storageValues[storage].All(v => v != _graph.Output && (!_lastUse.TryGetValue(v, out int last) || last <= index));

    private void Define(string value, int[] shape, int storage)
    {
        _values[value] = (shape, storage);
        _storageValues[storage].Add(value);
    }

    private int NewStorage()
    {
        _storageValues[_storages] = new List<string>();
        return _storages++;
    }

    private int[][] Liveness(int outputStorage)
    {
        var last = new int[_storages];
        Array.Fill(last, -1);
        for (int i = 0; i < _steps.Count; i++)
        {
            foreach (int s in _steps[i].Inputs) last[s] = i;
            last[_steps[i].Output] = i;
        }
        var release = new List<int>[_steps.Count];
        for (int i = 0; i < release.Length; i++) release[i] = new List<int>();
        for (int s = 0; s < _storages; s++)
            if (s != outputStorage && last[s] >= 0) release[last[s]].Add(s);
        return release.Select(r => r.ToArray()).ToArray();
    }

    private static int[] FlattenShape(GraphNode n, int[] shape)
    {
        int start = n.Int("start_axis", 1);
        if (start < 1 || start > shape.Length)
            throw new InvalidDataException($"start_axis {start} outside 1..{shape.Length} for samples of shape {ShapeUtil.Format(shape)}");
        var keep = shape[..(start - 1)];
        return [.. keep, ShapeUtil.Numel(shape.AsSpan(start - 1))];
    }

    private static void Expect(int[] shape, int rank, string what)
    {
        if (shape.Length != rank) throw new InvalidDataException($"expects samples of shape {what}, got {ShapeUtil.Format(shape)}");
    }

    /// <summary>The stored tensor for a parameter role, or an error naming both.</summary>
    private EncodedTensor Param(GraphNode n, string role)
    {
        if (!n.Params.TryGetValue(role, out var name)) throw new InvalidDataException($"missing parameter '{role}'");
        return _tensors(name) ?? throw new InvalidDataException($"parameter '{role}' names tensor '{name}', which is not in the model");
    }

    /// <summary>A small float vector parameter of exactly <paramref name="length"/> elements (or empty when optional and absent).</summary>
    private float[] Vector(GraphNode n, string role, int length, bool optional = false)
    {
        if (optional && !n.Params.ContainsKey(role)) return [];
        var t = Param(n, role);
        var name = n.Params[role];
        if (t.Shape.Count != 1 || t.Shape[0] != length)
            throw new InvalidDataException($"{role} tensor '{name}' has shape {ShapeUtil.Format(t.ShapeArray())}, expected [{length}]");
        return WeightCandidates.Guard(name, () => t.Decode(_options.ReadOptions.MaxTensorElements));
    }
}

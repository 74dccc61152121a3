using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn;

/// <summary>
/// Transfer learning on graph models: a new classifier head on a pretrained network (replacing its
/// classifier or appended after its features), a new input size for size-agnostic networks, and a
/// frozen backbone (the linear probe).
/// </summary>
public static class TransferLearning
{
    /// <summary>Name of the node <see cref="WithHead"/> appends (a suffix is added when the graph has one already).</summary>
    public const string HeadName = "head";

    /// <summary>
    /// A copy of <paramref name="model"/> ending in a classifier of <paramref name="classes"/> outputs.
    /// When the graph ends in a <c>linear</c> node (a classifier) that node is replaced by a freshly
    /// initialised one with the same input; otherwise a <c>linear</c> node is appended after the
    /// output features (flattened first when they are [C, 1, 1]; a [C, H, W] map is average-pooled).
    /// Returns the model and the name of the head node. The other weights are copied.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="classes"/> &lt; 1, or an output the head cannot follow.</exception>
    public static (GraphModule Model, string Head) WithHead(GraphModule model, int classes, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rng);
        if (classes < 1) throw new ArgumentException($"a head needs at least 1 class, got {classes}");
        var g = model.ToGraph();
        var tensors = new Dictionary<string, Tensor>(model.StateDict(), StringComparer.Ordinal);
        var last = g.Producer(g.Output);
        string features;
        int inFeatures;
        if (last is not null && last.Op == "linear" && g.Consumers(last.Inputs[0]).Count() == 1
            && !last.Params.Keys.Any(r => r.StartsWith("in_", StringComparison.Ordinal)))
        {   // replace the classifier: same input, new width
            inFeatures = tensors[last.Params["weight"]].Shape[1];
            g.Nodes.Remove(last);
            foreach (var t in last.Params.Values) tensors.Remove(t);
            features = last.Inputs[0];
        }
        else
        {
            features = g.Output;
            var shape = model.OutputShapeOfGraph;
            if (shape.Length == 3)
            {
                string op = shape[1] == 1 && shape[2] == 1 ? "flatten" : "global_avgpool2d";
                if (op == "global_avgpool2d")
                {
                    features = Add(g, Unique(g, "head_pool"), "global_avgpool2d", features);
                    op = "flatten";
                }
                features = Add(g, Unique(g, "head_flatten"), op, features);
                inFeatures = shape[0];
            }
            else if (shape.Length == 1) inFeatures = shape[0];
            else throw new ArgumentException($"cannot put a classifier head after an output of shape {ShapeUtil.Format(shape)}");
        }
        string head = Unique(g, HeadName);
        var layer = new Linear(inFeatures, classes, rng);
        g.Nodes.Add(new GraphNode
        {
            Name = head, Op = "linear", Inputs = [features], Output = head,
            Params = new(StringComparer.Ordinal) { ["weight"] = head + ".weight", ["bias"] = head + ".bias" },
        });
        g.Output = head;
        tensors[head + ".weight"] = layer.Weight;
        tensors[head + ".bias"] = layer.Bias!;
        g.Validate();
        return (GraphLayers.FromTensors(g, tensors), head);
    }

    /// <summary>
    /// A copy of <paramref name="model"/> taking [C, <paramref name="height"/>, <paramref name="width"/>]
    /// inputs. Works for networks whose layers do not depend on the image size (convolutions, pools,
    /// global pooling); a flatten-to-linear boundary sized for another input fails with one line.
    /// </summary>
    /// <exception cref="ArgumentException">The network cannot take that input size.</exception>
    public static GraphModule WithImageSize(GraphModule model, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(model);
        var g = model.ToGraph();
        if (g.InputShape.Length != 3) throw new ArgumentException($"the model takes {ShapeUtil.Format(g.InputShape)} inputs, not images");
        if (g.InputShape[1] == height && g.InputShape[2] == width) return model;
        if (height < 1 || width < 1) throw new ArgumentException($"image size must be positive, got {height}x{width}");
        var original = ShapeUtil.Format(g.InputShape);
        g.InputShape = [g.InputShape[0], height, width];
        try { return GraphLayers.FromTensors(g, model.StateDict()); }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            throw new ArgumentException($"the model was built for {original} inputs and cannot take {height}x{width} images: {e.Message}");
        }
    }

    /// <summary>
    /// Freezes every parameter outside the nodes <paramref name="trainable"/> accepts (no gradient; the
    /// optimiser should be given <see cref="TrainableParameters"/>) and makes the frozen BatchNorm layers
    /// normalise with their running statistics. Returns the number of frozen parameters (scalars).
    /// </summary>
    public static long Freeze(GraphModule model, Func<string, bool> trainable)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(trainable);
        long frozen = 0;
        foreach (var (node, layer) in model.Layers())
        {
            if (trainable(node.Name)) continue;
            foreach (var (_, p) in layer.NamedParameters()) { p.RequiresGrad = false; p.Grad = null; frozen += p.Size; }
            if (layer is BatchNorm bn) bn.FreezeStatistics = true;
        }
        return frozen;
    }

    /// <summary>The parameters that take gradients (what the optimiser should update).</summary>
    public static IEnumerable<(string Name, Tensor Param)> TrainableParameters(Module model)
        => model.NamedParameters().Where(p => p.Param.RequiresGrad);

    /// <summary>
    /// The network up to (not including) the nodes from <paramref name="head"/> on: its output is the
    /// head's input (the features a linear probe trains on). Weights are shared with <paramref name="model"/>.
    /// </summary>
    public static GraphModule Backbone(GraphModule model, string head)
    {
        ArgumentNullException.ThrowIfNull(model);
        var g = model.Graph.Clone();
        var node = g.Find(head) ?? throw new ArgumentException($"no node '{head}' in the graph");
        int at = g.Nodes.IndexOf(node);
        g.Output = node.Inputs[0];
        g.Nodes.RemoveRange(at, g.Nodes.Count - at);
        g.Validate();
        var layers = model.Layers().Where(l => g.Find(l.Node.Name) is not null).ToDictionary(l => l.Node.Name, l => l.Layer, StringComparer.Ordinal);
        return new GraphModule(g, layers);
    }

    private static string Add(ModelGraph g, string name, string op, string input)
    {
        g.Nodes.Add(new GraphNode { Name = name, Op = op, Inputs = [input], Output = name });
        return name;
    }

    private static string Unique(ModelGraph g, string name)
    {
        var used = new HashSet<string>(g.Nodes.Select(n => n.Name).Concat(g.Nodes.SelectMany(n => n.Outputs)).Append(g.Input), StringComparer.Ordinal);
        if (!used.Contains(name)) return name;
        for (int i = 1; ; i++) if (!used.Contains($"{name}_{i}")) return $"{name}_{i}";
    }
}

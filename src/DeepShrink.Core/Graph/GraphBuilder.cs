namespace DeepShrink.Core.Graph;

/// <summary>Incrementally builds a <see cref="ModelGraph"/> with fresh value names.</summary>
public sealed class GraphBuilder
{
    private int _counter;
    /// <summary>The graph being built.</summary>
    public ModelGraph Graph { get; }

    /// <summary>Starts a graph for samples of the given shape.</summary>
    public GraphBuilder(int[] inputShape) => Graph = new ModelGraph { InputShape = inputShape };

    /// <summary>Appends a node and returns the name of its output value.</summary>
    public string Add(string name, string op, IEnumerable<string> inputs, Dictionary<string, string>? parameters = null, Dictionary<string, AttrValue>? attrs = null)
        => AddMulti(name, op, inputs, 1, parameters, attrs)[0];

    /// <summary>Appends a node with <paramref name="outputs"/> outputs and returns their names.</summary>
    public string[] AddMulti(string name, string op, IEnumerable<string> inputs, int outputs, Dictionary<string, string>? parameters = null, Dictionary<string, AttrValue>? attrs = null)
    {
        var outs = Enumerable.Range(0, outputs).Select(_ => $"v{_counter++}").ToArray();
        Graph.Nodes.Add(new GraphNode
        {
            Name = name, Op = op, Inputs = inputs.ToList(), Outputs = outs.ToList(),
            Params = parameters ?? new(StringComparer.Ordinal), Attrs = attrs ?? new(StringComparer.Ordinal),
        });
        return outs;
    }

    /// <summary>Marks <paramref name="value"/> as the graph output and validates.</summary>
    public ModelGraph Finish(string value)
    {
        Graph.Output = value;
        Graph.Validate();
        return Graph;
    }
}

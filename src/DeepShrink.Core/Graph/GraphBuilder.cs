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
    public string Add(string name, string op, IEnumerable<string> inputs, Dictionary<string, string>? parameters = null, Dictionary<string, double>? attrs = null)
    {
        string output = $"v{_counter++}";
        Graph.Nodes.Add(new GraphNode
        {
            Name = name, Op = op, Inputs = inputs.ToList(), Output = output,
            Params = parameters ?? new(), Attrs = attrs ?? new(),
        });
        return output;
    }

    /// <summary>Marks <paramref name="value"/> as the graph output and validates.</summary>
    public ModelGraph Finish(string value)
    {
        Graph.Output = value;
        Graph.Validate();
        return Graph;
    }
}

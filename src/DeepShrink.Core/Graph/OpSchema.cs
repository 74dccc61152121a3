namespace DeepShrink.Core.Graph;

/// <summary>What shape inference and cost functions see of one node.</summary>
/// <param name="Node">The node.</param>
/// <param name="Inputs">Per-sample shapes of the node's inputs (batch axis excluded).</param>
/// <param name="ParamShape">Shape of a parameter by role, or null when the node has no such parameter.</param>
public sealed record OpContext(GraphNode Node, IReadOnlyList<int[]> Inputs, Func<string, int[]?> ParamShape)
{
    /// <summary>Shape of a required parameter; one-line error when missing.</summary>
    public int[] Param(string role) => ParamShape(role) ?? throw new FormatException($"node '{Node.Name}' ({Node.Op}) has no '{role}' parameter");
    /// <summary>The first input's shape.</summary>
    public int[] X => Inputs[0];
}

/// <summary>
/// The definition of one graph op, shared by every consumer of a <see cref="ModelGraph"/>: how many
/// inputs and outputs it has, which parameters and attributes it takes, how it infers its output
/// shapes and what it costs in multiply-accumulates.
/// </summary>
public sealed class OpSchema
{
    /// <summary>Op name as written in graphs.</summary>
    public required string Name { get; init; }
    /// <summary>Short description (for docs and errors).</summary>
    public string Doc { get; init; } = "";
    /// <summary>Fewest value inputs.</summary>
    public int MinInputs { get; init; } = 1;
    /// <summary>Most value inputs.</summary>
    public int MaxInputs { get; init; } = 1;
    /// <summary>Number of outputs.</summary>
    public int Outputs { get; init; } = 1;
    /// <summary>Parameter roles that must be present.</summary>
    public IReadOnlyList<string> RequiredParams { get; init; } = [];
    /// <summary>Parameter roles that may be present.</summary>
    public IReadOnlyList<string> OptionalParams { get; init; } = [];
    /// <summary>Attributes the op reads, with their defaults (for docs; absent attributes take the default).</summary>
    public IReadOnlyDictionary<string, string> AttrDocs { get; init; } = new Dictionary<string, string>();
    /// <summary>True when the op keeps the input's shape and does element-wise work (relu, sigmoid, ...).</summary>
    public bool Elementwise { get; init; }
    /// <summary>Output shapes (per sample) from input shapes; throws <see cref="FormatException"/> on a mismatch.</summary>
    public required Func<OpContext, int[][]> InferShapes { get; init; }
    /// <summary>Multiply-accumulates per sample (0 for ops without weights).</summary>
    public Func<OpContext, int[][], long> Macs { get; init; } = (_, _) => 0;

    /// <summary>Checks arity and parameters of <paramref name="node"/> against this schema.</summary>
    public void CheckNode(GraphNode node)
    {
        if (node.Inputs.Count < MinInputs || node.Inputs.Count > MaxInputs)
            throw new FormatException($"node '{node.Name}' ({Name}) has {node.Inputs.Count} inputs, expects {(MinInputs == MaxInputs ? MinInputs.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{MinInputs}..{MaxInputs}")}");
        if (node.Outputs.Count != Outputs)
            throw new FormatException($"node '{node.Name}' ({Name}) has {node.Outputs.Count} outputs, expects {Outputs}");
        foreach (var r in RequiredParams)
            if (!node.Params.ContainsKey(r)) throw new FormatException($"node '{node.Name}' ({Name}) lacks parameter '{r}'");
    }
}

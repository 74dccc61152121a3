namespace DeepShrink.Core.Graph;

/// <summary>One operation of a <see cref="ModelGraph"/>.</summary>
public sealed class GraphNode
{
    /// <summary>Node name (the module's dotted path, e.g. <c>layer1_0.conv1</c>).</summary>
    public string Name { get; set; } = "";
    /// <summary>Operation name (see <see cref="OpSchemas"/>).</summary>
    public string Op { get; set; } = "";
    /// <summary>Input value names.</summary>
    public List<string> Inputs { get; set; } = new();
    /// <summary>Output value names (most ops have one).</summary>
    public List<string> Outputs { get; set; } = new() { "" };
    /// <summary>Role (weight, bias, ...) to tensor name.</summary>
    public Dictionary<string, string> Params { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Typed attributes.</summary>
    public Dictionary<string, AttrValue> Attrs { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The first (usually only) output value; setting it makes it the only output.</summary>
    public string Output
    {
        get => Outputs.Count > 0 ? Outputs[0] : "";
        set => Outputs = new List<string> { value };
    }

    /// <summary>True when the attribute is present.</summary>
    public bool Has(string key) => Attrs.ContainsKey(key);

    /// <summary>True when the node carries input-transform attributes (<c>in_*</c>: a quantised or binary input), which
    /// weight rewrites (structured, low-rank, channel pruning) leave alone.</summary>
    public bool HasInputTransform => Attrs.Keys.Any(k => k.StartsWith("in_", StringComparison.Ordinal));

    /// <summary>Integer attribute with a default; <see cref="FormatException"/> naming the node when it is not an integer.</summary>
    public int Int(string key, int dflt) => Attrs.TryGetValue(key, out var v) ? Checked(key, () => AttrValue.ToInt(v.AsNumber())) : dflt;

    /// <summary>Float attribute with a default.</summary>
    public float Float(string key, float dflt) => Attrs.TryGetValue(key, out var v) ? Checked(key, () => (float)v.AsNumber()) : dflt;

    /// <summary>Number attribute with a default.</summary>
    public double Number(string key, double dflt) => Attrs.TryGetValue(key, out var v) ? Checked(key, v.AsNumber) : dflt;

    /// <summary>Integer-list attribute with a default (null when absent and no default).</summary>
    public int[]? Ints(string key, int[]? dflt = null) => Attrs.TryGetValue(key, out var v) ? Checked(key, v.AsInts) : dflt;

    /// <summary>String attribute with a default.</summary>
    public string? Str(string key, string? dflt = null) => Attrs.TryGetValue(key, out var v) ? Checked(key, v.AsText) : dflt;

    private T Checked<T>(string key, Func<T> read)
    {
        try { return read(); }
        catch (FormatException e) { throw new FormatException($"node '{Name}' ({Op}): attribute '{key}': {e.Message}"); }
    }

    /// <summary>A deep copy.</summary>
    public GraphNode Clone() => new()
    {
        Name = Name, Op = Op, Inputs = Inputs.ToList(), Outputs = Outputs.ToList(),
        Params = new Dictionary<string, string>(Params, StringComparer.Ordinal),
        Attrs = new Dictionary<string, AttrValue>(Attrs, StringComparer.Ordinal),
    };

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Op})";
}

using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace DeepShrink.Compression.Recipes;

/// <summary>
/// Strict reader over a YAML mapping: every key must be consumed, so unknown keys are errors
/// that name the key and its path.
/// </summary>
public sealed class YamlMap
{
    private readonly YamlMappingNode _node;
    private readonly HashSet<string> _used = new();
    public string Path { get; }

    public YamlMap(YamlMappingNode node, string path) { _node = node; Path = path; }

    public static YamlMap Parse(string text, string source)
    {
        var ys = new YamlStream();
        try { ys.Load(new StringReader(text)); }
        catch (YamlDotNet.Core.YamlException e) { throw new RecipeFormatException($"{source}: invalid YAML at line {e.Start.Line}: {e.Message}"); }
        if (ys.Documents.Count == 0 || ys.Documents[0].RootNode is not YamlMappingNode root)
            throw new RecipeFormatException($"{source}: a recipe must be a YAML mapping");
        return new YamlMap(root, source);
    }

    private YamlNode? Raw(string key)
    {
        _used.Add(key);
        return _node.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;
    }

    public bool Has(string key) => _node.Children.ContainsKey(new YamlScalarNode(key));

    public string? Str(string key, string? dflt = null) => Raw(key) switch
    {
        null => dflt,
        YamlScalarNode s => s.Value,
        _ => throw Error(key, "must be a scalar"),
    };

    public double Num(string key, double dflt, double min = double.MinValue, double max = double.MaxValue)
    {
        var s = Str(key);
        if (s is null) return dflt;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) throw Error(key, $"must be a number, got '{s}'");
        if (v < min || v > max) throw Error(key, $"must be in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}], got {s}");
        return v;
    }

    public int Int(string key, int dflt, int min = int.MinValue, int max = int.MaxValue)
    {
        var v = Num(key, dflt, min, max);
        if (v != Math.Floor(v)) throw Error(key, $"must be an integer, got {v}");
        return (int)v;
    }

    public bool Bool(string key, bool dflt)
    {
        var s = Str(key);
        if (s is null) return dflt;
        return s.ToLowerInvariant() switch { "true" or "yes" or "on" => true, "false" or "no" or "off" => false, _ => throw Error(key, $"must be true or false, got '{s}'") };
    }

    public YamlMap? Map(string key) => Raw(key) switch
    {
        null => null,
        YamlMappingNode m => new YamlMap(m, $"{Path}.{key}"),
        _ => throw Error(key, "must be a mapping"),
    };

    public List<YamlMap> MapList(string key)
    {
        var raw = Raw(key);
        if (raw is null) return new();
        if (raw is not YamlSequenceNode seq) throw Error(key, "must be a list");
        return seq.Children.Select((c, i) => c is YamlMappingNode m ? new YamlMap(m, $"{Path}.{key}[{i}]") : throw Error(key, $"item {i} must be a mapping")).ToList();
    }

    public IEnumerable<(string Key, YamlMap Value)> Entries()
    {
        foreach (var (k, v) in _node.Children)
        {
            var key = ((YamlScalarNode)k).Value ?? "";
            _used.Add(key);
            if (v is not YamlMappingNode m) throw Error(key, "must be a mapping");
            yield return (key, new YamlMap(m, $"{Path}.{key}"));
        }
    }

    /// <summary>Throws if any key was not read.</summary>
    public void EnsureAllUsed()
    {
        foreach (var k in _node.Children.Keys)
        {
            var key = ((YamlScalarNode)k).Value ?? "";
            if (!_used.Contains(key)) throw new RecipeFormatException($"{Path}: unknown key '{key}'");
        }
    }

    public RecipeFormatException Error(string key, string msg) => new($"{Path}.{key}: {msg}");
}

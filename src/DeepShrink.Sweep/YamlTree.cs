using YamlDotNet.RepresentationModel;

namespace DeepShrink.Sweep;

/// <summary>Small YAML tree helpers: load one document, set a dotted path, write it back.</summary>
internal static class YamlTree
{
    public static YamlNode Load(string yaml, string source)
    {
        var ys = new YamlStream();
        try { ys.Load(new StringReader(yaml)); }
        catch (YamlDotNet.Core.YamlException e) { throw new SweepSpecException($"{source}: invalid YAML at line {e.Start.Line}: {e.Message}"); }
        if (ys.Documents.Count != 1) throw new SweepSpecException($"{source}: expected one YAML document");
        return ys.Documents[0].RootNode;
    }

    public static string Save(YamlNode root)
    {
        var ys = new YamlStream(new YamlDocument(root));
        var w = new StringWriter();
        ys.Save(w, assignAnchors: false);
        return w.ToString();
    }

    /// <summary>Sets the scalar at <paramref name="path"/> (map keys, list indices); the last map key may be new (the recipe parser then judges it).</summary>
    public static void Set(YamlNode root, string path, string value, string axis)
    {
        var parts = path.Split('.');
        var node = root;
        for (int i = 0; i < parts.Length; i++)
        {
            bool last = i == parts.Length - 1;
            switch (node)
            {
                case YamlMappingNode m:
                    var key = new YamlScalarNode(parts[i]);
                    if (last) { m.Children[key] = new YamlScalarNode(value); return; }
                    node = m.Children.TryGetValue(key, out var child) ? child
                        : throw new SweepSpecException($"axis '{axis}': the recipe has no '{string.Join('.', parts[..(i + 1)])}'");
                    break;
                case YamlSequenceNode s:
                    if (!int.TryParse(parts[i], out int k) || k < 0 || k >= s.Children.Count)
                        throw new SweepSpecException($"axis '{axis}': '{parts[i]}' is not an index of the list '{string.Join('.', parts[..i])}' ({s.Children.Count} entries)");
                    if (last) { s.Children[k] = new YamlScalarNode(value); return; }
                    node = s.Children[k];
                    break;
                default:
                    throw new SweepSpecException($"axis '{axis}': '{string.Join('.', parts[..i])}' is a single value, not a map or list");
            }
        }
    }
}

using System.Collections.Concurrent;
using DeepShrink.Compression.Recipes;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// The public registry of compression component types: a recipe component's <c>type</c> names a
/// parser that turns its YAML into a <see cref="ComponentSpec"/>, and the spec creates its
/// <see cref="ICompressionMethod"/>. A method defined in another assembly registers itself here and
/// runs from a YAML recipe with no change to the runner.
/// </summary>
public static class CompressionMethods
{
    private static readonly ConcurrentDictionary<string, Func<string, YamlMap, ComponentSpec>> s_parsers = new(StringComparer.Ordinal);

    static CompressionMethods()
    {
        foreach (var (type, parse) in RecipeLoader.BuiltInParsers()) s_parsers[type] = parse;
    }

    /// <summary>Registers a component type with its YAML parser (the spec's <see cref="ComponentSpec.CreateMethod"/> makes the method).</summary>
    /// <exception cref="InvalidOperationException">The type is already registered with another parser.</exception>
    public static void Register(string type, Func<string, YamlMap, ComponentSpec> parse)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentNullException.ThrowIfNull(parse);
        var existing = s_parsers.GetOrAdd(type, parse);
        if (existing != parse) throw new InvalidOperationException($"compression component type '{type}' is already registered");
    }

    /// <summary>The parser of a type, or null.</summary>
    public static Func<string, YamlMap, ComponentSpec>? Parser(string type) => s_parsers.TryGetValue(type, out var p) ? p : null;

    /// <summary>Every registered type.</summary>
    public static IEnumerable<string> Types => s_parsers.Keys.Order(StringComparer.Ordinal);
}

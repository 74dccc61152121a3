using System.Globalization;
using DeepShrink.Compression.Recipes;
using YamlDotNet.RepresentationModel;

namespace DeepShrink.Sweep;

/// <summary>Images taken from each split (a seeded random subset; null: the whole split).</summary>
public sealed record SubsetSpec(int? Train, int? Validation, int? Test, ulong Seed);

/// <summary>
/// A sweep: a base model, a dataset, a base recipe and axes; the grid of axis values gives the points,
/// each one compress+evaluate job. Axis keys: <c>seed</c>, <c>max_drop</c> (pp), or <c>recipe.PATH</c>
/// where PATH is dotted map keys and list indices into the recipe YAML (any recipe field, per-layer entries
/// included: <c>recipe.components.pruner.layers.0.sparsity</c>). The file format is in docs/CLI.md.
/// </summary>
public sealed record SweepSpec
{
    /// <summary>Sweep name (default: the spec file's name).</summary>
    public required string Name { get; init; }
    /// <summary>Base model file (.safetensors or .dsz), resolved against the spec's directory.</summary>
    public required string ModelPath { get; init; }
    /// <summary>Dataset spec text (<c>fashion-mnist[:DIR]</c>, <c>mnist[:DIR]</c>, <c>idx:DIR</c>); null: the model's.</summary>
    public string? Dataset { get; init; }
    /// <summary>Base recipe: built-in name or file (resolved against the spec's directory).</summary>
    public required string Recipe { get; init; }
    /// <summary>Optional data subset.</summary>
    public SubsetSpec? Subset { get; init; }
    /// <summary>Kernel threads of each job (pinned: results depend on the thread count, not on the machine).</summary>
    public int ThreadsPerJob { get; init; } = 1;
    /// <summary>Batch-1 inference runs for the latency median (0: no latency).</summary>
    public int LatencyRuns { get; init; } = 50;
    /// <summary>Axes in file order: key and values (YAML scalars as written).</summary>
    public required IReadOnlyList<(string Key, IReadOnlyList<string> Values)> Axes { get; init; }

    /// <summary>Number of points (product of the axis lengths).</summary>
    public int PointCount => Axes.Aggregate(1, (n, a) => checked(n * a.Values.Count));

    /// <summary>Reads a spec file; one-line <see cref="SweepSpecException"/> on any problem.</summary>
    public static SweepSpec Load(string path)
    {
        if (!File.Exists(path)) throw new SweepSpecException($"sweep spec not found: {path}");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses spec YAML; relative paths are resolved against <paramref name="source"/>'s directory.</summary>
    public static SweepSpec Parse(string yaml, string source)
    {
        var root = YamlTree.Load(yaml, source) as YamlMappingNode ?? throw new SweepSpecException($"{source}: a sweep spec is a YAML map");
        var dir = Path.GetDirectoryName(Path.GetFullPath(source)) ?? ".";
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? Str(string key)
        {
            seen.Add(key);
            if (!root.Children.TryGetValue(new YamlScalarNode(key), out var n)) return null;
            return n is YamlScalarNode s ? s.Value : throw new SweepSpecException($"{source}: '{key}' must be a single value");
        }
        int Int(string key, int def, int min, int max)
        {
            var t = Str(key);
            if (t is null) return def;
            if (!int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
                throw new SweepSpecException($"{source}: '{key}' must be an integer in [{min}, {max}], got '{t}'");
            return v;
        }
        string Resolve(string p) => Path.IsPathRooted(p) ? p : Path.Combine(dir, p);
        int version = Int("version", 1, 1, 1);
        _ = version;
        var model = Str("model") ?? throw new SweepSpecException($"{source}: missing 'model' (the base model file)");
        var recipe = Str("recipe") ?? throw new SweepSpecException($"{source}: missing 'recipe' (a built-in name or a .yaml file)");
        var recipePath = Resolve(recipe);
        var spec = new SweepSpec
        {
            Name = Str("name") ?? Path.GetFileNameWithoutExtension(source),
            ModelPath = Resolve(model),
            Dataset = Str("dataset"),
            Recipe = File.Exists(recipePath) ? recipePath : recipe,
            ThreadsPerJob = Int("threads_per_job", 1, 1, 1024),
            LatencyRuns = Int("latency_runs", 50, 0, 100000),
            Subset = ParseSubset(root, source, seen),
            Axes = ParseAxes(root, source, seen),
        };
        foreach (var k in root.Children.Keys)
            if (k is YamlScalarNode ks && !seen.Contains(ks.Value!))
                throw new SweepSpecException($"{source}: unknown key '{ks.Value}' (known: {string.Join(", ", seen.Order())})");
        if (spec.PointCount > 100000) throw new SweepSpecException($"{source}: {spec.PointCount} points is more than 100000");
        return spec;
    }

    private static SubsetSpec? ParseSubset(YamlMappingNode root, string source, HashSet<string> seen)
    {
        seen.Add("subset");
        if (!root.Children.TryGetValue(new YamlScalarNode("subset"), out var n)) return null;
        if (n is not YamlMappingNode m) throw new SweepSpecException($"{source}: 'subset' must be a map (train, validation, test, seed)");
        int? Count(string k)
        {
            if (!m.Children.TryGetValue(new YamlScalarNode(k), out var v)) return null;
            var t = (v as YamlScalarNode)?.Value;
            return int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out int c) && c >= 1
                ? c : throw new SweepSpecException($"{source}: subset.{k} must be a positive integer, got '{t}'");
        }
        foreach (var k in m.Children.Keys)
            if (k is not YamlScalarNode { Value: "train" or "validation" or "test" or "seed" })
                throw new SweepSpecException($"{source}: unknown key 'subset.{(k as YamlScalarNode)?.Value}' (known: train, validation, test, seed)");
        ulong seed = 1;
        if (m.Children.TryGetValue(new YamlScalarNode("seed"), out var sv)
            && !ulong.TryParse((sv as YamlScalarNode)?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out seed))
            throw new SweepSpecException($"{source}: subset.seed must be a non-negative integer");
        return new SubsetSpec(Count("train"), Count("validation"), Count("test"), seed);
    }

    private static List<(string, IReadOnlyList<string>)> ParseAxes(YamlMappingNode root, string source, HashSet<string> seen)
    {
        seen.Add("axes");
        if (!root.Children.TryGetValue(new YamlScalarNode("axes"), out var n) || n is not YamlMappingNode m || m.Children.Count == 0)
            throw new SweepSpecException($"{source}: missing 'axes' (a map from seed, max_drop or recipe.PATH to a list of values)");
        var axes = new List<(string, IReadOnlyList<string>)>();
        foreach (var (k, v) in m.Children)
        {
            var key = ((YamlScalarNode)k).Value!;
            if (key is not ("seed" or "max_drop") && !key.StartsWith("recipe.", StringComparison.Ordinal))
                throw new SweepSpecException($"{source}: axis '{key}' is not seed, max_drop or recipe.PATH");
            var values = v switch
            {
                YamlSequenceNode s when s.Children.Count > 0 && s.Children.All(c => c is YamlScalarNode)
                    => s.Children.Select(c => ((YamlScalarNode)c).Value ?? "").ToList(),
                YamlScalarNode s => new List<string> { s.Value ?? "" },
                _ => throw new SweepSpecException($"{source}: axis '{key}' needs a non-empty list of single values"),
            };
            if (key == "seed" && values.Any(x => !ulong.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)))
                throw new SweepSpecException($"{source}: axis 'seed' values must be non-negative integers");
            if (key == "max_drop" && values.Any(x => !double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || d < 0 || d > 100))
                throw new SweepSpecException($"{source}: axis 'max_drop' values must be percentage points in [0, 100]");
            if (values.Distinct().Count() != values.Count) throw new SweepSpecException($"{source}: axis '{key}' repeats a value");
            axes.Add((key, values));
        }
        return axes;
    }

    /// <summary>The grid, in order (last axis fastest): each point's axis assignment.</summary>
    public IEnumerable<IReadOnlyList<(string Key, string Value)>> Grid()
    {
        var idx = new int[Axes.Count];
        for (int p = 0; p < PointCount; p++)
        {
            int rest = p;
            for (int a = Axes.Count - 1; a >= 0; a--) { idx[a] = rest % Axes[a].Values.Count; rest /= Axes[a].Values.Count; }
            yield return Axes.Select((ax, a) => (ax.Key, ax.Values[idx[a]])).ToList();
        }
    }

    /// <summary>The base recipe with the point's <c>recipe.*</c> values set, as YAML text, validated by <see cref="RecipeLoader.Parse"/>.</summary>
    public string RecipeFor(IReadOnlyList<(string Key, string Value)> point, string baseRecipeYaml)
    {
        var tree = YamlTree.Load(baseRecipeYaml, Recipe);
        foreach (var (k, v) in point)
            if (k.StartsWith("recipe.", StringComparison.Ordinal)) YamlTree.Set(tree, k["recipe.".Length..], v, k);
        var text = YamlTree.Save(tree);
        try { RecipeLoader.Parse(text, Recipe); }
        catch (RecipeFormatException e) { throw new SweepSpecException($"point {Describe(point)}: {e.Message}"); }
        return text;
    }

    /// <summary>A point as <c>key=value, ...</c>.</summary>
    public static string Describe(IReadOnlyList<(string Key, string Value)> point) => string.Join(", ", point.Select(p => $"{p.Key}={p.Value}"));
}

/// <summary>A sweep spec or cluster config is wrong (one-line message).</summary>
public sealed class SweepSpecException(string message) : Exception(message);

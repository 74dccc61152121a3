using DeepShrink.Compression.Sharing;

namespace DeepShrink.Compression.Recipes;

/// <summary>Loads and validates recipes; built-in recipes are resolved by name.</summary>
public static class RecipeLoader
{
    /// <summary>The built-in component parsers by <c>type</c> (registered in <see cref="Pipeline.CompressionMethods"/>, where other methods register theirs).</summary>
    internal static Dictionary<string, Func<string, YamlMap, ComponentSpec>> BuiltInParsers() => new()
    {
        ["distillation"] = ParseDistillationComponent,
        ["low-rank"] = LowRank.LowRankSpec.Parse,
        ["magnitude-pruning"] = ParsePruning,
        ["weight-sharing"] = ParseSharing,
        ["huffman"] = ParseEncoder,
        ["linear-quantization"] = PrecisionParsers.ParseLinear,
        ["fixed-point"] = PrecisionParsers.ParseFixedPoint,
        ["binarization"] = PrecisionParsers.ParseBinarization,
        [Pruning.Channels.ChannelPruningSpec.TypeName] = Pruning.Channels.ChannelPruningSpec.Parse,
        ["circulant"] = Structured.CirculantSpec.Parse,
        ["crelu"] = Structured.SharedFilterSpec.ParseCrelu,
        ["orbit-shared"] = Structured.SharedFilterSpec.ParseOrbit,
        ["depthwise-separable"] = Structured.CompactFilterSpec.ParseDepthwise,
        ["fire"] = Structured.CompactFilterSpec.ParseFire,
    };

    /// <summary>Names of recipes built into the tool.</summary>
    public static IEnumerable<string> BuiltInNames => typeof(RecipeLoader).Assembly.GetManifestResourceNames()
        .Where(n => n.EndsWith(".yaml", StringComparison.Ordinal))
        .Select(n => n.Split('.')[^2]).Order();

    /// <summary>Loads a built-in recipe by name or a YAML file by path.</summary>
    public static Recipe Load(string nameOrPath) => Parse(LoadText(nameOrPath), nameOrPath);

    /// <summary>The YAML text of a built-in recipe (by name) or of a recipe file (by path), unparsed.</summary>
    public static string LoadText(string nameOrPath)
    {
        if (File.Exists(nameOrPath)) return File.ReadAllText(nameOrPath);
        var res = typeof(RecipeLoader).Assembly.GetManifestResourceNames().FirstOrDefault(n => n.EndsWith("." + nameOrPath + ".yaml", StringComparison.Ordinal));
        if (res is null)
        {
            if (nameOrPath.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || nameOrPath.Contains('/'))
                throw new RecipeFormatException($"recipe file not found: {nameOrPath}");
            throw new RecipeFormatException($"unknown recipe '{nameOrPath}' (built-in: {string.Join(", ", BuiltInNames)}; or give a .yaml path)");
        }
        using var s = typeof(RecipeLoader).Assembly.GetManifestResourceStream(res)!;
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    /// <summary>Parses recipe YAML; <paramref name="source"/> names it in errors.</summary>
    public static Recipe Parse(string yaml, string source)
    {
        var root = YamlMap.Parse(yaml, source);
        int version = root.Int("version", 1, 1, 1);
        string name = root.Str("name") ?? Path.GetFileNameWithoutExtension(source);
        var training = ParseTraining(root.Map("training"));
        var comps = new Dictionary<string, ComponentSpec>();
        var cmap = root.Map("components") ?? throw new RecipeFormatException($"{source}: missing 'components'");
        foreach (var (cname, c) in cmap.Entries())
        {
            var type = c.Str("type") ?? throw c.Error("type", "is required");
            var parse = Pipeline.CompressionMethods.Parser(type)
                ?? throw c.Error("type", $"unknown component type '{type}' (known: {string.Join(", ", Pipeline.CompressionMethods.Types)})");
            comps[cname] = parse(cname, c);
            c.EnsureAllUsed();
        }
        cmap.EnsureAllUsed();
        var policies = new List<Policy>();
        foreach (var p in root.MapList("policies"))
        {
            var comp = p.Str("component") ?? throw p.Error("component", "is required");
            if (!comps.ContainsKey(comp)) throw p.Error("component", $"names no component ('{comp}')");
            int start = p.Int("start_epoch", 0, 0, 10_000);
            int end = p.Int("end_epoch", start, start, 10_000);
            int freq = p.Int("frequency", 0, 0, 10_000);
            p.EnsureAllUsed();
            policies.Add(new Policy(comp, start, end, freq));
        }
        root.EnsureAllUsed();
        foreach (var c in comps.Keys)
            if (!policies.Any(p => p.Component == c)) throw new RecipeFormatException($"{source}: component '{c}' has no policy");
        return new Recipe { Version = version, Name = name, Training = training, Components = comps, Policies = policies };
    }

    private static ComponentSpec ParseDistillationComponent(string name, YamlMap m)
        => new DistillationSpec(name, m.Num("temperature", 4, 0.01, 1000), m.Num("weight", 0.5, 0, 1));

    private static TrainingSettings ParseTraining(YamlMap? m)
    {
        if (m is null) return new TrainingSettings();
        var t = new TrainingSettings
        {
            Optimizer = m.Str("optimizer", "sgd")!,
            Lr = m.Num("lr", 0.01, 1e-8, 10),
            Momentum = m.Num("momentum", 0.9, 0, 0.999),
            WeightDecay = m.Num("weight_decay", 0, 0, 1),
            BatchSize = m.Int("batch_size", 64, 1, 65536),
            LabelSmoothing = m.Num("label_smoothing", 0, 0, 0.99),
            Distillation = ParseDistillation(m.Map("distillation")),
        };
        if (m.Map("augment") is { } aug)
        {
            t = t with { Flip = aug.Bool("flip", false), CropPadding = aug.Int("crop_padding", 0, 0, 16) };
            aug.EnsureAllUsed();
        }
        if (t.Optimizer is not ("sgd" or "adam" or "adamw")) throw m.Error("optimizer", $"must be sgd, adam or adamw, got '{t.Optimizer}'");
        m.EnsureAllUsed();
        return t;
    }

    private static DistillationSettings? ParseDistillation(YamlMap? m)
    {
        if (m is null) return null;
        var d = new DistillationSettings(m.Num("temperature", 4, 0.01, 100), m.Num("weight", 0.7, 0, 1));
        m.EnsureAllUsed();
        return d;
    }

    internal static List<LayerRule> ParseRules(YamlMap m, bool allowSparsity, bool allowBits)
    {
        var rules = new List<LayerRule>();
        foreach (var r in m.MapList("layers"))
        {
            var match = r.Str("match") ?? throw r.Error("match", "is required");
            bool skip = r.Bool("skip", false);
            double? sp = allowSparsity && r.Has("sparsity") ? r.Num("sparsity", 0, 0, 1) : null;
            int? bits = allowBits && r.Has("bits") ? r.Int("bits", 8, 1, 16) : null;
            r.EnsureAllUsed();
            rules.Add(new LayerRule(match, skip, sp, bits));
        }
        return rules;
    }

    private static ComponentSpec ParsePruning(string name, YamlMap m)
    {
        var s = m.Str("sparsity", "auto")!;
        double? sparsity = s == "auto" ? null : m.Num("sparsity", 0, 0, 1);
        double? quality = m.Has("quality") ? m.Num("quality", 1, 0, 100) : null;
        var criterion = (m.Str("criterion", "magnitude") ?? "magnitude") switch
        {
            "magnitude" => Pruning.OneShotCriterion.Magnitude,
            "obd" => Pruning.OneShotCriterion.ObdLayerwise,
            "obs" => Pruning.OneShotCriterion.Obs,
            var x => throw m.Error("criterion", $"must be magnitude, obd or obs, got '{x}'"),
        };
        int calibration = m.Int("calibration_samples", 1024, 16, 1_000_000);
        PruningTarget? target = null;
        if (m.Map("target") is { } t)
        {
            target = PruningTarget.Parse(t);
            if (s != "auto" || quality is not null) throw m.Error("target", "replaces sparsity and quality: give either a target or a sparsity/quality");
        }
        bool twoSided = (m.Str("search", "probe") ?? "probe") switch
        {
            "probe" => false,
            "two-sided" => true,
            var x => throw m.Error("search", $"must be probe or two-sided, got '{x}'"),
        };
        if (twoSided && (s != "auto" || quality is not null || target is not null))
            throw m.Error("search", "two-sided searches the automatic level: it needs sparsity: auto (no quality or target)");
        int? attempts = m.Has("attempts") ? m.Int("attempts", 5, 1, 100) : null;
        double? margin = m.Has("margin") ? m.Num("margin", 1, 0, 10) : null;
        return new PruningSpec(name, sparsity, quality, m.Num("max_drop", 0.3, 0, 100), ParseRules(m, true, false), criterion, calibration, target,
            twoSided, attempts, margin);
    }

    private static ComponentSpec ParseSharing(string name, YamlMap m)
    {
        var bits = m.Map("bits");
        int conv = bits?.Int("conv", 8, 1, 16) ?? 8, fc = bits?.Int("fc", 5, 1, 16) ?? 5;
        bool auto = bits?.Bool("auto", false) ?? false;
        bits?.EnsureAllUsed();
        var init = (m.Str("init", "linear") ?? "linear") switch
        {
            "linear" => CentroidInit.Linear,
            "density" => CentroidInit.Density,
            "random" => CentroidInit.Random,
            var x => throw m.Error("init", $"must be linear, density or random, got '{x}'"),
        };
        var step = (m.Str("centroid_step", "sum") ?? "sum") switch
        {
            "sum" => CentroidStep.Sum,
            "mean" => CentroidStep.Mean,
            var x => throw m.Error("centroid_step", $"must be sum or mean, got '{x}'"),
        };
        return new SharingSpec(name, conv, fc, auto, init, m.Num("centroid_lr_scale", 1.0, 0, 1e6), ParseRules(m, false, true), step);
    }

    // A relative-index width in bits, or "auto" (0): the encoder picks the width that stores the tensor smallest.
    private static int IndexBits(YamlMap m, string key, int dflt) => m.Str(key) == "auto" ? 0 : m.Int(key, dflt, 1, 16);

    private static ComponentSpec ParseEncoder(string name, YamlMap m)
    {
        var ib = m.Map("index_bits");
        int conv = ib is null ? 8 : IndexBits(ib, "conv", 8), fc = ib is null ? 5 : IndexBits(ib, "fc", 5);
        ib?.EnsureAllUsed();
        var bias = m.Str("bias_codec", "f32")!;
        if (bias is not ("f32" or "f16" or "codebook8")) throw m.Error("bias_codec", $"must be f32, f16 or codebook8, got '{bias}'");
        return new EncoderSpec(name, conv, fc, m.Bool("huffman", true), bias);
    }
}

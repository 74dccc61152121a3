namespace DeepShrink.Compression.Recipes;

/// <summary>
/// A compression recipe (Distiller-style YAML): named components with a <c>type</c>, training
/// settings, and policies that schedule each component over epochs. See docs/RECIPES.md.
/// </summary>
public sealed class Recipe
{
    /// <summary>Schema version (1).</summary>
    public int Version { get; init; } = 1;
    /// <summary>Recipe name.</summary>
    public string Name { get; init; } = "";
    /// <summary>Optimiser settings used for every retraining phase.</summary>
    public TrainingSettings Training { get; init; } = new();
    /// <summary>Components by name.</summary>
    public IReadOnlyDictionary<string, ComponentSpec> Components { get; init; } = new Dictionary<string, ComponentSpec>();
    /// <summary>Schedule.</summary>
    public IReadOnlyList<Policy> Policies { get; init; } = Array.Empty<Policy>();

    /// <summary>Total epochs the schedule spans.</summary>
    public int TotalEpochs => Policies.Count == 0 ? 0 : Policies.Max(p => Math.Max(p.EndEpoch, p.StartEpoch));

    /// <summary>The single component of a given spec type, or null.</summary>
    public T? Find<T>() where T : ComponentSpec => Components.Values.OfType<T>().FirstOrDefault();

    /// <summary>The policy of a component, or null.</summary>
    public Policy? PolicyOf(string component) => Policies.FirstOrDefault(p => p.Component == component);
}

/// <summary>Optimiser and loader settings for retraining.</summary>
public sealed record TrainingSettings
{
    /// <summary>sgd, adam or adamw.</summary>
    public string Optimizer { get; init; } = "sgd";
    /// <summary>Learning rate.</summary>
    public double Lr { get; init; } = 0.01;
    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>Weight decay.</summary>
    public double WeightDecay { get; init; } = 0.0;
    /// <summary>Minibatch size.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Label smoothing of the retraining loss (match the baseline's training).</summary>
    public double LabelSmoothing { get; init; }
    /// <summary>Knowledge distillation from the uncompressed model during retraining (null: labels only).</summary>
    public DistillationSettings? Distillation { get; init; }
    /// <summary>Random horizontal flips of the retraining images (for datasets where a mirror image is the same class).</summary>
    public bool Flip { get; init; }
    /// <summary>Random-crop padding in pixels for the retraining images (0: none).</summary>
    public int CropPadding { get; init; }
}

/// <summary>Distillation from the uncompressed input model (the teacher) while the compressed one retrains.</summary>
/// <param name="Temperature">Softmax temperature of the soft targets.</param>
/// <param name="Weight">Weight of the soft term (the label term gets 1 - weight).</param>
public sealed record DistillationSettings(double Temperature, double Weight);

/// <summary>When a component acts: at <see cref="StartEpoch"/>, then every <see cref="Frequency"/> epochs before <see cref="EndEpoch"/>.</summary>
public sealed record Policy(string Component, int StartEpoch, int EndEpoch, int Frequency)
{
    /// <summary>Epochs at which the component is applied.</summary>
    public IEnumerable<int> Epochs()
    {
        if (Frequency <= 0 || EndEpoch <= StartEpoch) { yield return StartEpoch; yield break; }
        for (int e = StartEpoch; e < EndEpoch; e += Frequency) yield return e;
    }
}

/// <summary>Base of component specs: name (the YAML key) and type; a spec creates its method.</summary>
public abstract record ComponentSpec(string Name, string Type)
{
    /// <summary>The method that runs this component in <paramref name="recipe"/>; <paramref name="budgetPp"/> is the run's accuracy budget in percentage points.</summary>
    public abstract Pipeline.ICompressionMethod CreateMethod(Recipe recipe, double budgetPp);
}

/// <summary>Knowledge distillation from the uncompressed model during retraining (also written as <c>training.distillation</c>).</summary>
public sealed record DistillationSpec(string Name, double Temperature, double Weight) : ComponentSpec(Name, "distillation")
{
    /// <inheritdoc/>
    public override Pipeline.ICompressionMethod CreateMethod(Recipe recipe, double budgetPp) => new Pipeline.DistillationMethod(Name, Temperature, Weight);
}

/// <summary>Per-layer override: glob over parameter names; first match wins.</summary>
public sealed record LayerRule(string Match, bool Skip, double? Sparsity, int? Bits)
{
    /// <summary>True when the glob (<c>*</c>, <c>?</c>) matches the whole name.</summary>
    public bool Matches(string name) => Glob(Match, name);

    private static bool Glob(string pattern, string s)
    {
        int p = 0, i = 0, star = -1, mark = 0;
        while (i < s.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == s[i])) { p++; i++; }
            else if (p < pattern.Length && pattern[p] == '*') { star = p++; mark = i; }
            else if (star >= 0) { p = star + 1; i = ++mark; }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    /// <summary>The first rule matching <paramref name="name"/>, or null.</summary>
    public static LayerRule? First(IEnumerable<LayerRule> rules, string name) => rules.FirstOrDefault(r => r.Matches(name));
}

/// <summary>Magnitude pruning with retraining.</summary>
/// <param name="Name">Component name.</param>
/// <param name="Sparsity">Uniform target sparsity, or null for automatic (sensitivity + budget).</param>
/// <param name="Quality">If set, threshold = quality * std(W) instead of a sparsity.</param>
/// <param name="MaxDropPp">Accuracy budget in percentage points for automatic targets.</param>
/// <param name="Layers">Overrides, first match wins.</param>
/// <param name="Criterion">Which weights each step removes: magnitude, obd (layer-wise diagonal) or obs (removal with compensation).</param>
/// <param name="CalibrationSamples">Training images for layer Hessians (obd, obs, automatic allocation).</param>
/// <param name="Target">Global budget (kept parameters or file bytes) distributed over layers automatically, or null.</param>
/// <param name="TwoSided"><c>search: two-sided</c>: the automatic level is searched by full attempts in both directions (<see cref="Pipeline.LevelSearch"/>); else probes choose it and a miss backs off.</param>
/// <param name="Attempts">Full attempts at most (<c>attempts</c>; null: the runner's default).</param>
/// <param name="MarginSe">Paired standard errors added to an attempt's validation drop in the budget check (<c>margin</c>; null: the runner's default, 1).</param>
public sealed record PruningSpec(string Name, double? Sparsity, double? Quality, double MaxDropPp, IReadOnlyList<LayerRule> Layers,
    Pruning.OneShotCriterion Criterion = Pruning.OneShotCriterion.Magnitude, int CalibrationSamples = 1024, PruningTarget? Target = null,
    bool TwoSided = false, int? Attempts = null, double? MarginSe = null)
    : ComponentSpec(Name, "magnitude-pruning")
{
    /// <inheritdoc/>
    public override Pipeline.ICompressionMethod CreateMethod(Recipe recipe, double budgetPp)
        => new Pipeline.PruningMethod(this with { MaxDropPp = budgetPp }, recipe.PolicyOf(Name)!, recipe);
}

/// <summary>k-means weight sharing with centroid fine-tuning.</summary>
/// <param name="AutoBits">When true, ConvBits/FcBits are upper bounds and each layer gets the fewest bits within budget.</param>
public sealed record SharingSpec(string Name, int ConvBits, int FcBits, bool AutoBits, Sharing.CentroidInit Init, double CentroidLrScale, IReadOnlyList<LayerRule> Layers, Sharing.CentroidStep Step = Sharing.CentroidStep.Sum)
    : ComponentSpec(Name, "weight-sharing")
{
    /// <inheritdoc/>
    public override Pipeline.ICompressionMethod CreateMethod(Recipe recipe, double budgetPp) => new Pipeline.SharingMethod(this, budgetPp);
}

/// <summary>Sparse relative-index storage plus Huffman coding of the streams (index bits 0: automatic).</summary>
public sealed record EncoderSpec(string Name, int ConvIndexBits, int FcIndexBits, bool Huffman, string BiasCodec)
    : ComponentSpec(Name, "huffman")
{
    /// <inheritdoc/>
    public override Pipeline.ICompressionMethod CreateMethod(Recipe recipe, double budgetPp) => new Pipeline.EncoderMethod(this);
}

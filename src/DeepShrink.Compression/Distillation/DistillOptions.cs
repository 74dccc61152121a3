namespace DeepShrink.Compression.Distillation;

/// <summary>What the student learns from the teacher after the (optional) FitNets hint stage.</summary>
public enum DistillObjective
{
    /// <summary>Hinton soft targets on the outputs (plus the hard labels when present).</summary>
    Kd,
    /// <summary>Feature matching (MSE or cosine) of a named value, or the outputs (regression KD).</summary>
    Features,
    /// <summary>Attention transfer (Zagoruyko and Komodakis 2017) of a named [C, H, W] value, plus the hard labels.</summary>
    Attention,
}

/// <summary>Options of a <see cref="Distiller"/> run (validated by <see cref="Validate"/>).</summary>
public sealed record DistillOptions
{
    /// <summary>The main objective.</summary>
    public DistillObjective Objective { get; init; } = DistillObjective.Kd;
    /// <summary>Softmax temperature T of the soft targets.</summary>
    public float Temperature { get; init; } = 4f;
    /// <summary>Weight w of the soft term (1 - w on the hard labels).</summary>
    public float Weight { get; init; } = 0.9f;
    /// <summary>Teacher value matched by features/attention (null: the teacher's output).</summary>
    public string? TeacherValue { get; init; }
    /// <summary>Student value matched by features/attention (null: the student's output).</summary>
    public string? StudentValue { get; init; }
    /// <summary>Feature loss: <c>mse</c> or <c>cosine</c>.</summary>
    public string FeatureLoss { get; init; } = "mse";
    /// <summary>Attention-transfer weight beta (the loss is beta/2 times the mean squared map difference).</summary>
    public float AttentionBeta { get; init; } = 1000f;
    /// <summary>
    /// FitNets hint layer (a teacher value), or null for no hints; several hint layers as a comma-separated list (one
    /// regressor per hint/guided pair, paired in order with <see cref="Guided"/>).
    /// </summary>
    public string? Hint { get; init; }
    /// <summary>FitNets guided layer (a student value); a comma-separated list of the same length as <see cref="Hint"/> for several pairs.</summary>
    public string? Guided { get; init; }
    /// <summary>The (hint, guided) pairs of <see cref="Hint"/> and <see cref="Guided"/>, in order; empty without hints.</summary>
    public IReadOnlyList<(string Hint, string Guided)> HintPairs =>
        Hint is null || Guided is null ? [] : [.. SplitList(Hint).Zip(SplitList(Guided))];

    private static string[] SplitList(string list) => list.Split(',', StringSplitOptions.TrimEntries);
    /// <summary>
    /// Distance of the hint loss: <c>mse</c> (FitNets: mean squared error between the regressed guided value and the hint)
    /// or <c>margin</c> (Heo et al. 2019, <see cref="MarginHint"/>: a regressor with batch normalisation, the hint through a
    /// margin ReLU, partial L2; meant for hints taken before the teacher's ReLU, e.g. its batch-norm outputs).
    /// </summary>
    public string HintLoss { get; init; } = "mse";
    /// <summary>Epochs of the hint stage (before the main objective); 0 with <see cref="HintWeight"/> &gt; 0 keeps the hint only as a term of the main stage.</summary>
    public int HintEpochs { get; init; }
    /// <summary>
    /// Weight lambda of the hint term kept in the main stage: the main loss plus lambda times the regressor's mean squared
    /// error to the hint layer, summed over the pairs when there are several (the regressors go on training, from the hint stage when there was one). 0 (default): the
    /// original two-stage FitNets, the hint only in its own first stage.
    /// </summary>
    public float HintWeight { get; init; }
    /// <summary>
    /// Learning-rate factor, in the main stage, of the guided layers: every student layer the guided value depends on (the
    /// layers the hint stage trained). 1 (default): as the rest; 0 freezes their parameters (they are left out of the
    /// optimiser; batch-norm running statistics still follow the data). Needs a hint layer.
    /// </summary>
    public float GuidedLrScale { get; init; } = 1f;
    /// <summary>Epochs of the main objective.</summary>
    public int Epochs { get; init; } = 10;
    /// <summary>Minibatch size.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Optimiser: sgd, adam or adamw.</summary>
    public string Optimizer { get; init; } = "sgd";
    /// <summary>Peak learning rate (linear warm-up, cosine decay per stage).</summary>
    public float Lr { get; init; } = 0.05f;
    /// <summary>SGD momentum (Nesterov).</summary>
    public float Momentum { get; init; } = 0.9f;
    /// <summary>Weight decay.</summary>
    public float WeightDecay { get; init; } = 5e-4f;
    /// <summary>Warm-up epochs.</summary>
    public double WarmupEpochs { get; init; } = 1;
    /// <summary>Ignore the labels (unlabelled data): no hard term, no accuracy.</summary>
    public bool IgnoreLabels { get; init; }
    /// <summary>Seed of the data order and the regressor's initialisation.</summary>
    public ulong Seed { get; init; } = 42;
    /// <summary>Random-crop padding in pixels (0 = no crops); with any augmentation the teacher runs on every augmented batch instead of a cache.</summary>
    public int CropPadding { get; init; }
    /// <summary>Random left-right flips of the training images.</summary>
    public bool Flip { get; init; }
    /// <summary>Whether the training images are augmented (the teacher's values then cannot be cached).</summary>
    public bool Augments => CropPadding > 0 || Flip;
    /// <summary>Largest teacher cache in floats (values beyond it are recomputed per batch).</summary>
    public long CacheLimitFloats { get; init; } = 256L << 20;

    /// <summary>Range checks; throws <see cref="ArgumentException"/> with one line.</summary>
    public void Validate()
    {
        if (!(Temperature > 0 && Temperature <= 1000)) throw new ArgumentException($"temperature must be in (0, 1000], got {Temperature}");
        if (!(Weight >= 0 && Weight <= 1)) throw new ArgumentException($"alpha (soft-target weight) must be in [0, 1], got {Weight}");
        if (FeatureLoss is not ("mse" or "cosine")) throw new ArgumentException($"feature loss must be mse or cosine, got '{FeatureLoss}'");
        if (Epochs < 0 || HintEpochs < 0) throw new ArgumentException("epochs must be >= 0");
        if (BatchSize < 1) throw new ArgumentException("batch size must be >= 1");
        if (!(Lr > 0)) throw new ArgumentException("learning rate must be > 0");
        if (CropPadding is < 0 or > 16) throw new ArgumentException($"crop padding must be in [0, 16], got {CropPadding}");
        if (WeightDecay < 0) throw new ArgumentException("weight decay must be >= 0");
        if ((Hint is null) != (Guided is null)) throw new ArgumentException("hints need both a hint layer (teacher) and a guided layer (student)");
        if (Hint is not null && Guided is not null)
        {
            string[] hints = SplitList(Hint), guided = SplitList(Guided);
            if (hints.Length != guided.Length)
                throw new ArgumentException($"{hints.Length} hint layer(s) ({Hint}) but {guided.Length} guided layer(s) ({Guided}); give one guided layer per hint layer, in the same order");
            if (hints.Concat(guided).Any(string.IsNullOrEmpty)) throw new ArgumentException($"empty layer name in the hint list '{Hint}' or the guided list '{Guided}'");
        }
        if (HintLoss is not ("mse" or "margin")) throw new ArgumentException($"hint loss must be mse or margin, got '{HintLoss}'");
        if (Hint is null && HintLoss != "mse") throw new ArgumentException("a hint loss needs a hint layer and a guided layer");
        if (!(HintWeight >= 0 && HintWeight <= 1e6)) throw new ArgumentException($"hint weight must be in [0, 1e6], got {HintWeight}");
        if (!(GuidedLrScale >= 0 && GuidedLrScale <= 100)) throw new ArgumentException($"guided learning-rate scale must be in [0, 100], got {GuidedLrScale}");
        if (Hint is not null && HintEpochs == 0 && HintWeight == 0) throw new ArgumentException("a hint layer needs hint epochs > 0 or a hint weight > 0");
        if (Hint is null && (HintWeight > 0 || GuidedLrScale != 1)) throw new ArgumentException("a hint weight or a guided learning-rate scale needs a hint layer and a guided layer");
        if (Objective == DistillObjective.Attention && (TeacherValue is null || StudentValue is null))
            throw new ArgumentException("attention transfer needs a teacher value and a student value ([C, H, W] activations)");
    }
}

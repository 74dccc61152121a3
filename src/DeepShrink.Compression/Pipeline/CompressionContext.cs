using DeepShrink.Compression.Pruning;
using DeepShrink.Compression.Sharing;
using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Pipeline;

/// <summary>Everything a recipe's components share while a model is being compressed.</summary>
public sealed class CompressionContext
{
    private GraphModule _model = null!;

    /// <summary>The model being compressed (modified in place; a graph transform replaces it with <see cref="ReplaceModel"/>).</summary>
    public required GraphModule Model { get => _model; init => _model = value; }

    /// <summary>
    /// Replaces the model by a transformed one (a node replaced by several, channels removed): the
    /// optimiser is rebuilt before the next epoch. Masks, codebooks and plans stay keyed by tensor name.
    /// </summary>
    public void ReplaceModel(GraphModule model)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.Train(_model.Training);
        _model = model;
        ModelVersion++;
    }

    /// <summary>Incremented by every <see cref="ReplaceModel"/> (the runner rebuilds its optimiser when it changes).</summary>
    public int ModelVersion { get; private set; }

    /// <summary>The training loss of a batch: (logits, inputs, labels) -> scalar. Components add terms by wrapping it.</summary>
    public Func<Tensor, Tensor, int[], Tensor> Loss { get; set; } = (logits, _, y) => Ops.CrossEntropy(logits, y);

    /// <summary>Label smoothing of the retraining loss (from the recipe).</summary>
    public double LabelSmoothing { get; set; }

    /// <summary>Trainable tensors a component adds beside the model's parameters (e.g. a hint regressor), by name.</summary>
    public List<(string Name, Tensor Param)> ExtraParameters { get; } = new();
    /// <summary>Training batches for an epoch (seeded shuffle).</summary>
    public required Func<int, IEnumerable<(Tensor X, int[] Y)>> TrainBatches { get; init; }
    /// <summary>Batches per training epoch.</summary>
    public required int BatchesPerEpoch { get; init; }
    /// <summary>Accuracy (0..1) on the held-out validation split (used for automatic decisions).</summary>
    public required Func<double> ValidationAccuracy { get; init; }
    /// <summary>
    /// Per-image correctness of the current model on the validation split (optional): with it the runner's budget
    /// check adds a margin of the paired standard error of the drop, so that a validation pass is likely a test pass.
    /// </summary>
    public Func<bool[]>? ValidationCorrectness { get; init; }
    /// <summary>The uncompressed model, frozen, as the teacher when the recipe distils (null otherwise).</summary>
    public Module? Teacher { get; init; }
    /// <summary>Seeded generator for the components.</summary>
    public required Rng Rng { get; init; }
    /// <summary>Number of classes (for the chance level in automatic targets).</summary>
    public int NumClasses { get; init; } = 10;
    /// <summary>Progress log.</summary>
    public Action<string> Log { get; init; } = _ => { };
    /// <summary>Optional hook after every epoch (epoch, stats) for progress display.</summary>
    public Action<EpochStats>? OnEpoch { get; init; }
    /// <summary>Measures batch-1 latency in the deployment runtime (latency targets); null when the caller gave none.</summary>
    public ILatencyMeter? Latency { get; init; }

    /// <summary>Pruning masks (beside the model).</summary>
    public MaskSet Masks { get; } = new();
    /// <summary>Weight-shared layers by parameter name.</summary>
    public Dictionary<string, SharedLayer> Shared { get; } = new();
    /// <summary>Per-parameter decisions, for the report.</summary>
    public Dictionary<string, LayerPlan> Plans { get; } = new();
    /// <summary>Validation accuracy of the uncompressed model.</summary>
    public double BaselineValidationAccuracy { get; set; }
    /// <summary>Tensors a component has already encoded (int8, binary, ...); the model holds exactly their decoded values.</summary>
    public Dictionary<string, EncodedTensor> Encoded { get; } = new();
    /// <summary>Each attempt: number, validation accuracy, targets used, validation drop plus margin (pp), whether that was within the budget.</summary>
    public List<(int Attempt, double ValidationAccuracy, Dictionary<string, double> Targets, double LossPp, bool Passed)> Attempts { get; } = new();
    /// <summary>Validation drop plus paired margin of the last attempt, percentage points (what the budget check compared).</summary>
    public double LastAttemptLossPp { get; set; }
    /// <summary>Automatic level searches by pruning component name; they persist across attempts (plans stay, weights do not).</summary>
    public Dictionary<string, AutoLevel> AutoLevels { get; } = new();
    /// <summary>Callbacks active in the training epochs (components add theirs).</summary>
    public List<ITrainingCallback> Callbacks { get; } = new();
    /// <summary>What the run records for its report (histograms, sensitivity curves, epochs, codebooks).</summary>
    public CompressionTrace Trace { get; } = new();

    /// <summary>Forgets masks, codebooks, encoded tensors, callbacks and forward hooks (plans stay) before another attempt.</summary>
    public void ResetState()
    {
        Masks.Clear();
        Shared.Clear();
        ExtraParameters.Clear();
        Encoded.Clear();
        Callbacks.Clear();
        foreach (var (_, m) in Model.NamedModules()) m.ForwardHook = null;
    }

    /// <summary>The attempt whose model the run keeps (after <see cref="RecipeRunner.Run"/>; 0 before).</summary>
    public int KeptAttempt { get; set; }

    /// <summary>
    /// Everything an attempt leaves behind that writing and reporting its model needs: the model (and its weights),
    /// masks, codebooks, encoded tensors, forward hooks, plans' targets, the trace's snapshots and codebooks.
    /// </summary>
    public AttemptState Capture(int attempt, IReadOnlyList<ICompressionMethod> methods)
    {
        return new AttemptState(attempt, Model, Model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone()),
            Masks.Names.ToDictionary(n => n, n => (float[])Masks.Get(n)!.Clone()),
            new Dictionary<string, SharedLayer>(Shared), new Dictionary<string, EncodedTensor>(Encoded),
            Model.NamedModules().ToDictionary(m => m.Name, m => m.Module.ForwardHooks.ToList()),
            Plans.ToDictionary(kv => kv.Key, kv => kv.Value.TargetSparsity),
            Trace.Snapshots.ToList(), Trace.Codebooks.ToDictionary(kv => kv.Key, kv => kv.Value), methods.ToList());
    }

    /// <summary>Puts a captured attempt back (after later attempts), so that the run finishes with its model.</summary>
    public void Restore(AttemptState s)
    {
        ResetState();
        if (!ReferenceEquals(Model, s.Model)) ReplaceModel(s.Model);
        Model.LoadStateDict(s.State);
        foreach (var (n, m) in s.Masks) Masks.Set(n, m);
        foreach (var (n, l) in s.Shared) Shared[n] = l;
        foreach (var (n, e) in s.Encoded) Encoded[n] = e;
        foreach (var (name, module) in Model.NamedModules())
            if (s.Hooks.TryGetValue(name, out var hooks)) foreach (var h in hooks) module.AddForwardHook(h);
        foreach (var (n, t) in s.Targets) if (Plans.TryGetValue(n, out var p)) p.TargetSparsity = t;
        Trace.Snapshots.Clear();
        Trace.Snapshots.AddRange(s.Snapshots);
        Trace.Codebooks.Clear();
        foreach (var (n, c) in s.Codebooks) Trace.Codebooks[n] = c;
        KeptAttempt = s.Attempt;
    }

    /// <summary>Parameter by dotted name.</summary>
    public Tensor Param(string name) => Model.NamedParameters().First(p => p.Name == name).Param;

    /// <summary>True for convolution kernels (rank 4), false for fully connected weights.</summary>
    public static bool IsConv(Tensor p) => p.Rank == 4;
}

/// <summary>A finished attempt's model and state (<see cref="CompressionContext.Capture"/>).</summary>
public sealed record AttemptState(int Attempt, GraphModule Model, Dictionary<string, Tensor> State, Dictionary<string, float[]> Masks,
    Dictionary<string, SharedLayer> Shared, Dictionary<string, EncodedTensor> Encoded, Dictionary<string, List<IForwardHook>> Hooks,
    Dictionary<string, double> Targets, List<WeightSnapshot> Snapshots, Dictionary<string, float[]> Codebooks, List<ICompressionMethod> Methods);

/// <summary>What the recipe decided for one parameter.</summary>
public sealed class LayerPlan
{
    /// <summary>Target sparsity (0 when not pruned).</summary>
    public double TargetSparsity { get; set; }
    /// <summary>Codebook bits (0 when not shared).</summary>
    public int Bits { get; set; }
    /// <summary>How the target was chosen (fixed, auto, override, quality).</summary>
    public string Source { get; set; } = "";
}

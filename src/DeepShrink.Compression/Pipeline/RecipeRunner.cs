using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Executes a recipe's schedule epoch by epoch with its components (<see cref="ICompressionMethod"/>):
/// each component acts at its policy epochs (in component order when several act at once), every
/// epoch retrains with the active callbacks, loss and extra parameters, and the components finish and
/// choose the codecs. When an attempt misses the accuracy budget on validation data and a component
/// can loosen its automatic choices, the run restarts from the original model.
/// </summary>
public sealed class RecipeRunner(Recipe recipe)
{
    /// <summary>The recipe being run.</summary>
    public Recipe Recipe { get; } = recipe;

    /// <summary>Accuracy budget override in percentage points (CLI <c>--max-drop</c>).</summary>
    public double? MaxDropPp { get; init; }

    /// <summary>Attempts with automatic targets at most (a pruning component's <c>attempts</c> overrides it); the run keeps the latest passing attempt, else the last.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>
    /// Standard errors of margin: an attempt passes when its validation drop plus this many paired standard
    /// errors of the drop (McNemar: sqrt(discordant images) / images) is within the budget. Used when the context
    /// gives per-image correctness; 0 turns the margin off.
    /// </summary>
    public double MarginStandardErrors { get; init; } = 1.0;

    /// <summary>The accuracy budget of this run in percentage points: the override, else the recipe's, else 0.3.</summary>
    public double BudgetPp => MaxDropPp ?? Recipe.Find<PruningSpec>()?.MaxDropPp ?? Recipe.Find<Pruning.Channels.ChannelPruningSpec>()?.MaxDropPp ?? 0.3;

    /// <summary>The components of the last attempt (after <see cref="Run"/>).</summary>
    public IReadOnlyList<ICompressionMethod> Methods { get; private set; } = [];

    /// <summary>The recipe's components as methods, including <c>training.distillation</c>.</summary>
    public List<ICompressionMethod> CreateMethods()
    {
        var methods = Recipe.Components.Values.Select(c => c.CreateMethod(Recipe, BudgetPp)).ToList();
        if (Recipe.Training.Distillation is { } d && !Recipe.Components.Values.OfType<DistillationSpec>().Any())
            methods.Add(new DistillationMethod("training.distillation", d.Temperature, d.Weight));
        return methods;
    }

    /// <summary>Runs the schedule on <paramref name="ctx"/>'s model (replaced there when a component transforms it).</summary>
    public void Run(CompressionContext ctx)
    {
        var precSpecs = Recipe.Components.Values.OfType<PrecisionSpec>().ToList();
        if (precSpecs.Count > 1) throw new RecipeFormatException($"recipe '{Recipe.Name}': at most one quantisation, fixed-point or binarization component ({string.Join(", ", precSpecs.Select(p => p.Name))})");
        double budget = BudgetPp;
        ctx.LabelSmoothing = Recipe.Training.LabelSmoothing;
        var (baselineAccuracy, baselineCorrect) = Validate(ctx);
        ctx.BaselineValidationAccuracy = baselineAccuracy;
        ctx.Log($"baseline validation accuracy {ctx.BaselineValidationAccuracy:P2}");
        var initialGraph = ctx.Model.ToGraph();
        var initial = ctx.Model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        int initialVersion = ctx.ModelVersion;
        var pruning = Recipe.Find<PruningSpec>();
        int maxAttempts = pruning?.Attempts ?? MaxAttempts;
        double marginSe = pruning?.MarginSe ?? MarginStandardErrors;
        AttemptState? kept = null; // the latest attempt within the budget (a search keeps its sparsest passing one)
        int attempt;
        for (attempt = 1; ; attempt++)
        {
            var methods = CreateMethods();
            Methods = methods;
            ctx.Loss = BaseLoss(ctx.LabelSmoothing);
            foreach (var m in methods) m.Begin(ctx);
            if (attempt == 1) foreach (var m in methods) m.Plan(ctx);
            ctx.Trace.Snapshots.Clear();
            ctx.Trace.Codebooks.Clear();
            RunSchedule(ctx, methods, attempt);
            var (val, correct) = Validate(ctx);
            double drop = (ctx.BaselineValidationAccuracy - val) * 100;
            double margin = baselineCorrect is null || correct is null || marginSe <= 0 ? 0
                : PairedMarginPp(baselineCorrect, correct, marginSe);
            ctx.LastAttemptLossPp = drop + margin;
            bool passed = drop + margin <= budget;
            ctx.Attempts.Add((attempt, val, ctx.Plans.ToDictionary(kv => kv.Key, kv => kv.Value.TargetSparsity), drop + margin, passed));
            ctx.KeptAttempt = attempt;
            ctx.Log($"attempt {attempt}: validation accuracy {val:P2} (drop {drop:F2} pp + margin {margin:F2} pp, budget {budget:F2} pp): {(passed ? "passes" : "fails")}");
            if (attempt >= maxAttempts) break;
            // Advance every component (no short-circuit): each schedules its next attempt or declines.
            if (!methods.Select(m => m.Advance(ctx, passed)).ToList().Any(b => b)) break;
            if (passed) kept = ctx.Capture(attempt, methods);
            ctx.ResetState(); // first: it detaches forward hooks, whose state is not in the initial weights
            if (ctx.ModelVersion == initialVersion) ctx.Model.LoadStateDict(initial);
            else ctx.ReplaceModel(GraphLayers.FromTensors(initialGraph, initial.ToDictionary(kv => kv.Key, kv => kv.Value.Clone())));
        }
        // The last attempt missed the budget but an earlier one kept it: finish with that one (never recomputed).
        if (kept is not null && ctx.LastAttemptLossPp > budget)
        {
            ctx.Restore(kept);
            Methods = kept.Methods;
            ctx.Log($"keeping attempt {kept.Attempt} (the last one within the budget; attempt {attempt} was over it)");
        }
    }

    // One pass over the validation split: accuracy, and per-image correctness when the context gives it.
    private static (double Accuracy, bool[]? Correct) Validate(CompressionContext ctx)
    {
        if (ctx.ValidationCorrectness?.Invoke() is not { Length: > 0 } c) return (ctx.ValidationAccuracy(), null);
        float accuracy = (float)c.Count(v => v) / c.Length; // the same float arithmetic as Trainer.Evaluate
        return (accuracy, c);
    }

    /// <summary>
    /// <paramref name="standardErrors"/> x the paired standard error of an accuracy drop measured on the same
    /// images, in percentage points: sqrt(discordant) / n x 100, where discordant counts the images that exactly
    /// one of the two models classifies correctly (McNemar).
    /// </summary>
    public static double PairedMarginPp(bool[] baseline, bool[] now, double standardErrors)
    {
        if (now.Length != baseline.Length) throw new ArgumentException($"correctness vectors differ in length ({baseline.Length} vs {now.Length})");
        if (now.Length == 0) return 0;
        int discordant = 0;
        for (int i = 0; i < now.Length; i++) if (now[i] != baseline[i]) discordant++;
        return standardErrors * Math.Sqrt(discordant) / now.Length * 100;
    }

    private static Func<Tensor, Tensor, int[], Tensor> BaseLoss(double labelSmoothing) => (logits, _, y) => Ops.CrossEntropy(logits, y, (float)labelSmoothing);

    /// <summary>The optimiser of <paramref name="t"/> over the model's and the context's extra parameters.</summary>
    internal static Optimizer MakeOptimizer(CompressionContext ctx, TrainingSettings t)
    {
        var ps = ctx.Model.NamedParameters().Concat(ctx.ExtraParameters).ToList();
        return t.Optimizer switch
        {
            "adam" => new Adam(ps, (float)t.Lr, weightDecay: (float)t.WeightDecay),
            "adamw" => Adam.AdamW(ps, (float)t.Lr, (float)t.WeightDecay),
            _ => new Sgd(ps, (float)t.Lr, (float)t.Momentum, (float)t.WeightDecay, nesterov: t.Momentum > 0),
        };
    }

    private void RunSchedule(CompressionContext ctx, List<ICompressionMethod> methods, int attempt = 1)
    {
        int total = Recipe.TotalEpochs;
        var steps = methods.ToDictionary(m => m, m => Recipe.PolicyOf(m.Name)?.Epochs().ToList() ?? []);
        var eventEpochs = steps.Values.SelectMany(e => e).Where(e => e > 0 && e < total).ToHashSet();
        var t = Recipe.Training;
        var opt = MakeOptimizer(ctx, t);
        int version = ctx.ModelVersion;
        string phase = "retraining";
        string? started = null; // the component that started last (names the weight snapshots)
        var trainer = new Trainer
        {
            Schedule = new SegmentCosineLr(steps.Values.SelectMany(e => e).Where(e => e >= 0), total),
            OnEpoch = st => { ctx.Trace.Epochs.Add(new TraceEpoch(attempt, phase, st)); ctx.OnEpoch?.Invoke(st); },
            Loss = (logits, x, y) => ctx.Loss(logits, x, y),
        };
        var ordered = methods.OrderBy(m => m.Order).ToList();
        for (int e = 0; e <= total; e++)
        {
            if (eventEpochs.Contains(e)) ctx.Log($"validation accuracy after epoch {e}: {ctx.ValidationAccuracy():P2}");
            bool reset = false;
            foreach (var m in ordered)
            {
                int i = steps[m].IndexOf(e);
                if (i < 0) continue;
                if (i == 0) { ctx.Trace.Snapshot(started is null ? "input" : $"after {started}", ctx.Model); started = m.Name; }
                phase = m.Name;
                m.Apply(ctx, e, i + 1, steps[m].Count);
                reset |= m.ResetsOptimizer;
            }
            if (e == total) break;
            if (reset || version != ctx.ModelVersion) { opt = MakeOptimizer(ctx, t); version = ctx.ModelVersion; }
            trainer.Callbacks.Clear();
            trainer.Callbacks.AddRange(ctx.Callbacks);
            trainer.Fit(ctx.Model, opt, ctx.TrainBatches, 1, ctx.BatchesPerEpoch, startEpoch: e);
        }
        foreach (var m in ordered) m.Finish(ctx);
        ctx.Model.Eval();
        ctx.Trace.Snapshot("final", ctx.Model);
        foreach (var (name, shared) in ctx.Shared) ctx.Trace.Codebooks[name] = (float[])shared.Centroids.Clone();
    }

    /// <summary>Encodes a tensor: the first component with an encoding, else a tensor a component already encoded, else dense f32.</summary>
    public EncodedTensor EncodeTensor(CompressionContext ctx, string name, Tensor t)
    {
        foreach (var m in Methods.OrderByDescending(m => m.Order))
            if (m.Encode(ctx, name, t) is { } enc) return enc;
        return ctx.Encoded.TryGetValue(name, out var done) ? done : DenseCodec.EncodeF32(t.Span, t.Shape);
    }
}

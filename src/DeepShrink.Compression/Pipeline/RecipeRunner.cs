using DeepShrink.Compression.Distillation;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Executes a recipe's schedule epoch by epoch: components act at their policy epochs (prune step,
/// clustering, the start of quantisation/fixed point/binarisation), every epoch retrains with the
/// active callbacks (masks, centroid fine-tuning, shadow weights), and the encoder (if any) turns the
/// result into per-tensor <c>.dsz</c> codecs.
/// </summary>
public sealed class RecipeRunner(Recipe recipe)
{
    /// <summary>The recipe being run.</summary>
    public Recipe Recipe { get; } = recipe;

    /// <summary>Accuracy budget override in percentage points (CLI <c>--max-drop</c>).</summary>
    public double? MaxDropPp { get; init; }

    /// <summary>Runs the schedule on <paramref name="ctx"/>'s model; returns the encoder (null when the recipe has none).</summary>
    public EncoderPhase? Run(CompressionContext ctx)
    {
        var pruneSpec = Recipe.Find<PruningSpec>();
        var shareSpec = Recipe.Find<SharingSpec>();
        var encSpec = Recipe.Find<EncoderSpec>();
        double budget = MaxDropPp ?? pruneSpec?.MaxDropPp ?? 0.3;
        if (pruneSpec is not null && MaxDropPp is double md) pruneSpec = pruneSpec with { MaxDropPp = md };

        ctx.BaselineValidationAccuracy = ctx.ValidationAccuracy();
        ctx.Log($"baseline validation accuracy {ctx.BaselineValidationAccuracy:P2}");

        var pruneEpochs = pruneSpec is null ? new HashSet<int>() : Recipe.PolicyOf(pruneSpec.Name)!.Epochs().ToHashSet();
        int shareEpoch = shareSpec is null ? -1 : Recipe.PolicyOf(shareSpec.Name)!.StartEpoch;
        if (pruneSpec is not null) new PruningPhase(pruneSpec, Recipe.PolicyOf(pruneSpec.Name)!).Plan(ctx);
        var precSpecs = Recipe.Components.Values.OfType<PrecisionSpec>().ToList();
        if (precSpecs.Count > 1) throw new RecipeFormatException($"recipe '{Recipe.Name}': at most one quantisation, fixed-point or binarization component ({string.Join(", ", precSpecs.Select(p => p.Name))})");
        bool anyAuto = ctx.Plans.Values.Any(p => p.Source == "auto");
        var initial = ctx.Model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        var encoder = encSpec is null ? null : new EncoderPhase(encSpec);
        for (int attempt = 1; ; attempt++)
        {
            RunSchedule(ctx, pruneSpec, shareSpec, precSpecs.FirstOrDefault(), pruneEpochs, shareEpoch, budget);
            encoder?.Apply(ctx);
            double val = ctx.ValidationAccuracy();
            double drop = (ctx.BaselineValidationAccuracy - val) * 100;
            ctx.Attempts.Add((attempt, val, ctx.Plans.ToDictionary(kv => kv.Key, kv => kv.Value.TargetSparsity)));
            ctx.Log($"attempt {attempt}: validation accuracy {val:P2} (drop {drop:F2} pp, budget {budget:F2} pp)");
            if (!anyAuto || drop <= budget || attempt >= MaxAttempts) break;
            ctx.Log("over budget: backing the automatic targets off (kept fraction x1.5) and retraining from the original weights");
            ctx.ResetState(); // first: it detaches forward hooks, whose state is not in the initial weights
            ctx.Model.LoadStateDict(initial);
            foreach (var p in ctx.Plans.Values.Where(p => p.Source == "auto")) p.TargetSparsity = AutoTargets.BackOff(p.TargetSparsity);
        }
        return encoder;
    }

    private static Optimizer MakeOptimizer(CompressionContext ctx, TrainingSettings t) => t.Optimizer switch
    {
        "adam" => new Adam(ctx.Model.NamedParameters(), (float)t.Lr, weightDecay: (float)t.WeightDecay),
        "adamw" => Adam.AdamW(ctx.Model.NamedParameters(), (float)t.Lr, (float)t.WeightDecay),
        _ => new Sgd(ctx.Model.NamedParameters(), (float)t.Lr, (float)t.Momentum, (float)t.WeightDecay, nesterov: t.Momentum > 0),
    };

    private static Func<Tensor, Tensor, int[], Tensor> MakeLoss(CompressionContext ctx, TrainingSettings t)
    {
        if (t.Distillation is not { } d) return (logits, _, y) => Ops.CrossEntropy(logits, y, (float)t.LabelSmoothing);
        var teacher = ctx.Teacher ?? throw new InvalidOperationException("the recipe distils from the uncompressed model, but no teacher model was given");
        return KnowledgeDistillation.Loss(teacher, (float)d.Temperature, (float)d.Weight, (float)t.LabelSmoothing);
    }

    /// <summary>Attempts with automatic targets before giving up on the budget (the last attempt is kept).</summary>
    public int MaxAttempts { get; init; } = 3;

    private void RunSchedule(CompressionContext ctx, PruningSpec? pruneSpec, SharingSpec? shareSpec, PrecisionSpec? precSpec,
        HashSet<int> pruneEpochs, int shareEpoch, double budget)
    {
        PruningPhase? pruning = pruneSpec is null ? null : new PruningPhase(pruneSpec, Recipe.PolicyOf(pruneSpec.Name)!);
        var precision = precSpec is null ? null : PrecisionPhase.Create(precSpec);
        int precEpoch = precSpec is null ? -1 : Recipe.PolicyOf(precSpec.Name)!.StartEpoch;
        int total = Recipe.TotalEpochs;
        var events = pruneEpochs.Concat(new[] { shareEpoch, precEpoch }.Where(e => e >= 0));
        var t = Recipe.Training;
        var opt = MakeOptimizer(ctx, t);
        var trainer = new Trainer
        {
            Schedule = new SegmentCosineLr(events, total),
            OnEpoch = ctx.OnEpoch,
            Loss = MakeLoss(ctx, t),
        };
        var eventEpochs = events.ToHashSet();
        for (int e = 0; e < total; e++)
        {
            if (e > 0 && eventEpochs.Contains(e)) ctx.Log($"validation accuracy after epoch {e}: {ctx.ValidationAccuracy():P2}");
            if (pruneEpochs.Contains(e)) pruning!.Step(ctx);
            if (e == shareEpoch)
            {
                new SharingPhase(shareSpec!, budget).Apply(ctx);
                opt = MakeOptimizer(ctx, t); // fresh state: momentum from before clustering would move shared weights apart
            }
            if (e == precEpoch)
            {
                precision!.Begin(ctx);
                opt = MakeOptimizer(ctx, t);
            }
            trainer.Callbacks.Clear();
            trainer.Callbacks.AddRange(ctx.Callbacks);
            trainer.Fit(ctx.Model, opt, ctx.TrainBatches, 1, ctx.BatchesPerEpoch, startEpoch: e);
        }
        // Events scheduled at the very end (no retraining after them).
        if (pruneEpochs.Contains(total)) pruning!.Step(ctx);
        if (shareEpoch == total) new SharingPhase(shareSpec!, budget).Apply(ctx);
        ctx.Masks.ApplyToWeights(ctx.Model);
        foreach (var (name, layer) in ctx.Shared) layer.WriteWeights(ctx.Param(name).Span);
        if (precEpoch == total) precision!.Begin(ctx);
        precision?.Finish(ctx);
        ctx.Model.Eval();
    }

    /// <summary>Encodes a tensor with the encoder, or dense f32 when there is none.</summary>
    public static EncodedTensor EncodeTensor(EncoderPhase? enc, CompressionContext ctx, string name, Tensor t)
        => enc is not null ? enc.Encode(ctx, name, t)
            : ctx.Encoded.TryGetValue(name, out var done) ? done : DenseCodec.EncodeF32(t.Span, t.Shape);
}

using DeepShrink.Compression.Distillation;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Compression.Pipeline;

/// <summary>Magnitude pruning as a component: plans targets once, prunes at each policy epoch (cubic schedule), backs automatic targets off.</summary>
internal sealed class PruningMethod(PruningSpec spec, Policy policy, Recipe? recipe = null) : ICompressionMethod
{
    private readonly PruningPhase _phase = new(spec, policy, recipe);
    public string Name => spec.Name;
    public int Order => 100;
    public void Plan(CompressionContext ctx) => _phase.Plan(ctx);
    public void Apply(CompressionContext ctx, int epoch, int step, int steps) => _phase.Step(ctx);
    public void Finish(CompressionContext ctx) => ctx.Masks.ApplyToWeights(ctx.Model);

    public bool BackOff(CompressionContext ctx)
    {
        return ctx.AutoLevels.TryGetValue(spec.Name, out var search) && search.BackOff(ctx.LastAttemptLossPp, ctx.Log);
    }

    public bool Advance(CompressionContext ctx, bool passed)
    {
        if (!ctx.AutoLevels.TryGetValue(spec.Name, out var search)) return false;
        return search.Search is not null ? search.Advance(ctx.LastAttemptLossPp, ctx.Log) : !passed && BackOff(ctx);
    }
}

/// <summary>k-means weight sharing as a component: clusters at its start epoch, fine-tunes centroids after, writes the shared weights at the end.</summary>
internal sealed class SharingMethod(SharingSpec spec, double budgetPp) : ICompressionMethod
{
    public string Name => spec.Name;
    public int Order => 200;
    public bool ResetsOptimizer => true; // momentum from before clustering would move shared weights apart
    public void Apply(CompressionContext ctx, int epoch, int step, int steps)
    {
        if (step == 1) new SharingPhase(spec, budgetPp).Apply(ctx);
    }
    public void Finish(CompressionContext ctx)
    {
        foreach (var (name, layer) in ctx.Shared) layer.WriteWeights(ctx.Param(name).Span);
    }
}

/// <summary>Quantisation, fixed point or binarisation as a component: begins at its start epoch, fixes values and codecs at the end.</summary>
internal sealed class PrecisionMethod(PrecisionSpec spec) : ICompressionMethod
{
    private readonly PrecisionPhase _phase = PrecisionPhase.Create(spec);
    private bool _begun;
    public string Name => spec.Name;
    public int Order => 300;
    public bool ResetsOptimizer => true;
    public void Apply(CompressionContext ctx, int epoch, int step, int steps)
    {
        if (_begun) return;
        _phase.Begin(ctx);
        _begun = true;
    }
    public void Finish(CompressionContext ctx)
    {
        if (!_begun) { _phase.Begin(ctx); _begun = true; }
        _phase.Finish(ctx);
    }
}

/// <summary>Deep Compression's storage as a component: applies lossy bias codecs before the final evaluation and chooses every tensor's codec.</summary>
internal sealed class EncoderMethod(EncoderSpec spec) : ICompressionMethod
{
    private readonly EncoderPhase _phase = new(spec);
    public string Name => spec.Name;
    public int Order => 900;
    public void Finish(CompressionContext ctx) => _phase.Apply(ctx);
    public EncodedTensor? Encode(CompressionContext ctx, string name, Tensor value) => _phase.Encode(ctx, name, value);
}

/// <summary>Knowledge distillation from the uncompressed model (the teacher) while the compressed one retrains (Hinton et al. 2015).</summary>
internal sealed class DistillationMethod(string name, double temperature, double weight) : ICompressionMethod
{
    public string Name => name;
    public int Order => 50;
    public void Begin(CompressionContext ctx)
    {
        var teacher = ctx.Teacher ?? throw new InvalidOperationException("the recipe distils from the uncompressed model, but no teacher model was given");
        ctx.Loss = KnowledgeDistillation.Loss(teacher, (float)temperature, (float)weight, (float)ctx.LabelSmoothing);
    }
}

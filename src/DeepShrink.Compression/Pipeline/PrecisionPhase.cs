using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Pipeline;

/// <summary>A weight layer (Linear or Conv2d) a precision component acts on.</summary>
/// <param name="Path">Module path (graph node name), e.g. <c>fc1</c>.</param>
/// <param name="Module">The layer.</param>
/// <param name="WeightName">Dotted weight name, e.g. <c>fc1.weight</c>.</param>
/// <param name="Weight">The weight tensor.</param>
/// <param name="Bias">The bias tensor, or null.</param>
/// <param name="IsFirst">True for the network's first weight layer (in module order), which sees the raw input.</param>
public sealed record PrecisionLayer(string Path, Module Module, string WeightName, Tensor Weight, Tensor? Bias, bool IsFirst);

/// <summary>
/// Base of the recipe phases that change the arithmetic of weight layers (quantisation, fixed point,
/// binarisation). <see cref="Begin"/> runs at the component's start epoch (attaching input hooks and
/// training callbacks); the retraining epochs follow; <see cref="Finish"/> runs after the last one
/// and leaves the model holding exactly the values stored in the <c>.dsz</c> file (registered in
/// <see cref="CompressionContext.Encoded"/>).
/// </summary>
public abstract class PrecisionPhase(PrecisionSpec spec)
{
    /// <summary>The component.</summary>
    public PrecisionSpec Spec { get; } = spec;

    /// <summary>Attaches hooks and callbacks (at the policy's start epoch).</summary>
    public abstract void Begin(CompressionContext ctx);

    /// <summary>Fixes the final values and their codecs (after the last retraining epoch).</summary>
    public abstract void Finish(CompressionContext ctx);

    /// <summary>The phase of a precision component.</summary>
    public static PrecisionPhase Create(PrecisionSpec spec) => spec switch
    {
        LinearQuantizationSpec q => new LinearQuantizationPhase(q),
        FixedPointSpec f => new FixedPointPhase(f),
        BinarizationSpec b => new BinarizationPhase(b),
        _ => throw new ArgumentException($"no phase for component type '{spec.Type}'"),
    };

    /// <summary>
    /// The Linear and Conv2d layers of the model that the spec covers, in module order: every one whose
    /// weight no rule skips, except the first / last when <see cref="PrecisionSpec.KeepFirst"/> /
    /// <see cref="PrecisionSpec.KeepLast"/> is set.
    /// </summary>
    public static List<PrecisionLayer> Layers(Module model, PrecisionSpec spec)
    {
        var all = new List<PrecisionLayer>();
        foreach (var (path, m) in model.NamedModules())
        {
            var (w, b) = m switch { Linear l => (l.Weight, l.Bias), Conv2d c => (c.Weight, c.Bias), _ => ((Tensor?)null, (Tensor?)null) };
            if (w is null) continue;
            all.Add(new PrecisionLayer(path, m, path.Length == 0 ? "weight" : path + ".weight", w, b, all.Count == 0));
        }
        return all.Where((l, i) => !(spec.KeepFirst && i == 0) && !(spec.KeepLast && i == all.Count - 1)
            && !(LayerRule.First(spec.Layers, l.WeightName)?.Skip ?? false)).ToList();
    }

    /// <summary>Some training batches (for calibration).</summary>
    protected static List<Tensor> CalibrationBatches(CompressionContext ctx, int count) => ctx.TrainBatches(0).Take(count).Select(b => b.X).ToList();

    /// <summary>Records the per-layer decision for the report.</summary>
    protected static void Plan(CompressionContext ctx, string name, int bits, string source)
    {
        var plan = ctx.Plans.TryGetValue(name, out var p) ? p : ctx.Plans[name] = new LayerPlan();
        plan.Bits = bits; plan.Source = source;
    }
}

using DeepShrink.Compression.Binarization;
using DeepShrink.Compression.Recipes;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Runs a <see cref="BinarizationSpec"/>: binary weights trained with real-valued shadow weights
/// (BinaryConnect, BNN: one magnitude H per layer, the layer's mean |W| when binarisation starts, and
/// real weights clipped to [-H, H]; XNOR-Net: alpha = mean |W| per output channel), and for BNN and
/// XNOR-Net binary inputs to every binarised layer except the network's first (which sees the image).
/// The result is stored with the <c>binary</c> codec: one bit per weight plus the scales.
/// </summary>
public sealed class BinarizationPhase(BinarizationSpec spec) : PrecisionPhase(spec)
{
    private List<(PrecisionLayer Layer, BinaryWeight Weight)> _layers = new();

    /// <inheritdoc/>
    public override void Begin(CompressionContext ctx)
    {
        bool xnor = spec.Method == BinarizationMethod.Xnor;
        _layers = Layers(ctx.Model, spec)
            .Select(l => (l, new BinaryWeight(l.WeightName, l.Weight, xnor, Binarizer.MeanAbs(l.Weight.Span)))).ToList();
        if (spec.Method != BinarizationMethod.BinaryConnect)
            foreach (var (l, _) in _layers.Where(x => !x.Layer.IsFirst)) l.Module.ForwardHook = BinaryInputHook.For(l.Module, xnor);
        ctx.Callbacks.Add(new BinaryWeightCallback(_layers.Select(x => x.Weight).ToList(), spec.Stochastic ? ctx.Rng.Fork() : null, clip: !xnor));
        ctx.Log($"binarization ({spec.Method}{(spec.Stochastic ? ", stochastic" : "")}): " + string.Join(", ", _layers.Select(x =>
            x.Layer.Path + (x.Layer.Module.ForwardHook is null ? "" : " +binary input"))));
    }

    /// <inheritdoc/>
    public override void Finish(CompressionContext ctx)
    {
        foreach (var (l, b) in _layers)
        {
            var real = l.Weight.Span;
            var alphas = b.Alphas(real);
            var enc = BinaryCodec.EncodeSigns(real, l.Weight.Shape, alphas, b.PerChannel ? 0 : null);
            l.Weight.CopyFrom(enc.DecodeTensor());
            ctx.Encoded[l.WeightName] = enc;
            Plan(ctx, l.WeightName, 1, spec.Method switch
            {
                BinarizationMethod.BinaryConnect => "binary-connect", BinarizationMethod.Bnn => "bnn", _ => "xnor",
            });
        }
    }
}

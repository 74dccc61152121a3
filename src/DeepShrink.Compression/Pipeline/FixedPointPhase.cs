using DeepShrink.Compression.Quantization;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Runs a <see cref="FixedPointSpec"/> (Gupta et al. 2015): weights and biases of the weight layers
/// are rounded to the fixed-point format and stay there through training (rounded after every step,
/// stochastically or to nearest), layer inputs are rounded in the forward pass and gradients in the
/// backward pass. Storage: formats of at most 8 bits use the int8 codec (scale 2^-FL, zero point 0);
/// wider ones a Huffman-coded codebook of the distinct values, or dense f32 when that is smaller; all decode exactly.
/// </summary>
public sealed class FixedPointPhase(FixedPointSpec spec) : PrecisionPhase(spec)
{
    private List<PrecisionLayer> _layers = new();

    /// <inheritdoc/>
    public override void Begin(CompressionContext ctx)
    {
        _layers = Layers(ctx.Model, spec);
        var rng = spec.Stochastic ? ctx.Rng.Fork() : null;
        var cb = new FixedPointCallback(_layers.SelectMany(l => l.Bias is null ? new[] { l.Weight } : new[] { l.Weight, l.Bias }).ToList(), spec.Weights, spec.Gradients, rng);
        cb.RoundToNearest();
        ctx.Callbacks.Add(cb);
        if (spec.Activations is { } a)
            foreach (var l in _layers) l.Module.ForwardHook = new FixedPointInputHook(a, spec.Gradients, rng);
        ctx.Log($"fixed point: weights {spec.Weights}, activations {spec.Activations?.ToString() ?? "float"}, gradients {spec.Gradients?.ToString() ?? "float"}, "
            + (spec.Stochastic ? "stochastic rounding" : "round to nearest"));
    }

    /// <inheritdoc/>
    public override void Finish(CompressionContext ctx)
    {
        var f = spec.Weights;
        foreach (var l in _layers)
        {
            f.RoundInPlace(l.Weight.Span, null); // already on the grid after training; idempotent
            if (l.Bias is not null) f.RoundInPlace(l.Bias.Span, null);
            var enc = Encode(l.Weight, f);
            l.Weight.CopyFrom(enc.DecodeTensor());
            ctx.Encoded[l.WeightName] = enc;
            Plan(ctx, l.WeightName, f.WordBits, $"fixed {f}");
        }
    }

    /// <summary>Stores fixed-point values exactly: int8 codes for words of at most 8 bits, else a codebook of the distinct values or dense f32, whichever is smaller.</summary>
    public static EncodedTensor Encode(Tensor w, FixedPointFormat f)
    {
        var data = w.ContiguousData().Span;
        if (f.WordBits <= 8)
        {
            float scale = (float)f.Epsilon;
            var q = new sbyte[data.Length];
            for (int i = 0; i < q.Length; i++) q[i] = checked((sbyte)Ops.QuantizeValue(data[i], scale, 0, sbyte.MinValue, sbyte.MaxValue));
            return Int8Codec.Encode(q, w.Shape, new[] { scale }, new sbyte[] { 0 }, null);
        }
        var distinct = data.ToArray().Distinct().Order().ToArray();
        var dense = DenseCodec.EncodeF32(data, w.Shape);
        if (distinct.Length > 1 << 16) return dense;
        var book = CodebookCodec.EncodeValues(data, w.Shape, distinct, huffman: true);
        return book.PayloadBytes < dense.PayloadBytes ? book : dense;
    }
}

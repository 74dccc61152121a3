using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Chooses the <c>.dsz</c> codec of every tensor after pruning and sharing (Deep Compression's
/// storage): pruned + shared weights as sparse relative indices + codebook codes (both streams
/// Huffman-coded); shared dense weights as a codebook; pruned-only weights as sparse f32; the rest
/// (biases, batch-norm statistics) by the recipe's bias codec. Tensors a precision component already
/// encoded (<see cref="CompressionContext.Encoded"/>) are stored as they are. A lossy bias codec
/// (f16, codebook8) is applied to the model itself by <see cref="Apply"/> before the final
/// evaluation, so the file decodes to exactly the weights whose accuracy was measured.
/// </summary>
public sealed class EncoderPhase(EncoderSpec spec)
{
    /// <summary>The encoder settings.</summary>
    public EncoderSpec Spec { get; } = spec;

    /// <summary>
    /// Encodes every tensor that is stored lossily (the bias codec) and writes its decoded values back
    /// into the model, then remembers the encoding in <see cref="CompressionContext.Encoded"/>.
    /// </summary>
    public void Apply(CompressionContext ctx)
    {
        if (Spec.BiasCodec == "f32") return;
        foreach (var (name, t) in ctx.Model.StateDict())
        {
            if (ctx.Encoded.ContainsKey(name) || ctx.Shared.ContainsKey(name) || ctx.Masks.Get(name) is not null) continue;
            var enc = Encode(ctx, name, t);
            if (enc.Codec == DenseCodec.F32.Name) continue;
            TensorCodecs.Get(enc.Codec).Decode(enc).CopyTo(t.Span);
            ctx.Encoded[name] = enc;
        }
    }

    /// <summary>Encodes one tensor of the compressed model.</summary>
    public EncodedTensor Encode(CompressionContext ctx, string name, Tensor t)
    {
        if (ctx.Encoded.TryGetValue(name, out var done)) return done;
        var shape = t.Shape;
        int gapBits = CompressionContext.IsConv(t) ? Spec.ConvIndexBits : Spec.FcIndexBits;
        bool pruned = ctx.Masks.Get(name) is not null;
        if (ctx.Shared.TryGetValue(name, out var layer))
        {
            return pruned
                ? Smallest(gapBits, b => SparseCodebookCodec.Encode(layer.Assignments, shape, layer.Centroids, b, Spec.Huffman))
                : CodebookCodec.Encode(layer.Assignments, shape, layer.Centroids, Spec.Huffman);
        }
        if (pruned) return Smallest(gapBits, b => SparseF32Codec.Encode(t.Span, shape, b, Spec.Huffman));
        return Spec.BiasCodec switch
        {
            "f16" => DenseCodec.EncodeF16(t.Span, shape),
            "codebook8" when t.Size > 256 => CodebookOf(t, 8),
            _ => DenseCodec.EncodeF32(t.Span, shape),
        };
    }

    /// <summary>The relative-index widths the encoder tries for a configured width: that width, or every automatic one (0).</summary>
    public static IEnumerable<int> IndexWidths(int gapBits)
        => gapBits > 0 ? [gapBits] : Enumerable.Range(MinAutoIndexBits, MaxAutoIndexBits - MinAutoIndexBits + 1);

    /// <summary>Widths tried for automatic relative indices.</summary>
    public const int MinAutoIndexBits = 2, MaxAutoIndexBits = 12;

    // Fixed width: encode with it. Automatic (0): the width whose encoding has the fewest bytes; with
    // Huffman-coded gaps a wider field costs little per entry and saves filler entries in long runs of zeros.
    private static EncodedTensor Smallest(int gapBits, Func<int, EncodedTensor> encode)
    {
        EncodedTensor? best = null;
        long bestBytes = long.MaxValue;
        foreach (int b in IndexWidths(gapBits))
        {
            var e = encode(b);
            long bytes = e.Parts.Values.Sum(p => (long)p.Length);
            if (bytes < bestBytes) { best = e; bestBytes = bytes; }
        }
        return best!;
    }

    private static EncodedTensor CodebookOf(Tensor t, int bits)
    {
        var layer = Sharing.WeightSharing.Quantize("", t.Span, null, bits, Sharing.CentroidInit.Linear, new Rng(0));
        return CodebookCodec.Encode(layer.Assignments, t.Shape, layer.Centroids, false);
    }
}

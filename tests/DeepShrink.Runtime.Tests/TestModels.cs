using DeepShrink.Nn.IO;
using DeepShrink.Compression;
using DeepShrink.Compression.Pruning;
using DeepShrink.Compression.Sharing;
using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Runtime.Tests;

/// <summary>Zoo models written as .dsz files with chosen codecs, for the runtime tests.</summary>
internal static class TestModels
{
    public static GraphModule Create(string arch, ulong seed) => ModelZoo.Create(arch, new ModelConfig(), new Rng(seed));

    /// <summary>Writes <paramref name="model"/> to a temp .dsz; <paramref name="encode"/> gets (name, tensor) and returns null for dense-f32.</summary>
    public static string Write(GraphModule model, string arch, Func<string, Tensor, EncodedTensor?> encode, TempDir dir, string file = "m.dsz")
    {
        var path = Path.Combine(dir.Path, file);
        ModelIO.WriteDsz(path, model, arch, new ModelConfig(), encode, new Dictionary<string, string>
        {
            [ModelIO.NormalizationKey] = "{\"mean\":[0.286],\"std\":[0.353]}",
            [ModelIO.DatasetKey] = "fashion-mnist",
        });
        return path;
    }

    /// <summary>Deep Compression storage of weight matrices: prune to <paramref name="sparsity"/>, share 2^bits - 1 values, Huffman.</summary>
    public static Func<string, Tensor, EncodedTensor?> DeepCompression(double sparsity = 0.92, int fcBits = 5, int convBits = 8) => (name, t) =>
    {
        if (t.Rank < 2) return null;
        bool conv = t.Rank == 4;
        var mask = MagnitudePruner.MaskForSparsity(t.Span, sparsity);
        var layer = WeightSharing.Quantize(name, t.Span, mask, conv ? convBits : fcBits, CentroidInit.Linear, new Rng(3));
        return SparseCodebookCodec.Encode(layer.Assignments, t.Shape, layer.Centroids, conv ? 8 : 5, huffman: true);
    };

    /// <summary>Every codec in turn over the weight matrices, f16 biases: exercises all decode paths.</summary>
    public static Func<string, Tensor, EncodedTensor?> Codec(string codec) => (name, t) =>
    {
        if (t.Rank < 2) return codec == "dense-f16" ? DenseCodec.EncodeF16(t.Span, t.Shape) : null;
        var rng = new Rng(9);
        switch (codec)
        {
            case "sparse-f32":
                var w = t.Span.ToArray();
                var mask = MagnitudePruner.MaskForSparsity(w, 0.7);
                for (int i = 0; i < w.Length; i++) w[i] *= mask[i];
                return SparseF32Codec.Encode(w, t.Shape, 4);
            case "codebook":
                var layer = WeightSharing.Quantize(name, t.Span, null, 4, CentroidInit.Linear, rng);
                return CodebookCodec.Encode(layer.Assignments, t.Shape, layer.Centroids, huffman: true);
            case "lowrank":
                int m = t.Shape[0], n = t.Size / m, r = Math.Min(4, Math.Min(m, n));
                return LowRankCodec.Encode(Tensor.Randn(rng, 0.1f, m, r).Span, Tensor.Randn(rng, 0.1f, r, n).Span, t.Shape, r);
            case "int8":
                var q = new sbyte[t.Size];
                float scale = t.Span.ToArray().Max(MathF.Abs) / 127f;
                for (int i = 0; i < q.Length; i++) q[i] = (sbyte)Math.Clamp(MathF.Round(t.Span[i] / scale), -127, 127);
                return Int8Codec.Encode(q, t.Shape, [scale], [0], null);
            case "binary":
                var alphas = new float[t.Shape[0]];
                int per = t.Size / alphas.Length;
                for (int c = 0; c < alphas.Length; c++) alphas[c] = System.Numerics.Tensors.TensorPrimitives.SumOfMagnitudes(t.Span.Slice(c * per, per)) / per;
                return BinaryCodec.EncodeSigns(t.Span, t.Shape, alphas, 0);
            case "dense-f16": return DenseCodec.EncodeF16(t.Span, t.Shape);
            case "sparse-codebook": return DeepCompression()(name, t);
            default: return null;
        }
    };
}

/// <summary>A temporary directory deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("dsrt-").FullName;
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

using DeepShrink.Nn.IO;
using DeepShrink.Compression;
using DeepShrink.Compression.Pruning;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Data;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Onnx.Tests;

/// <summary>Models, inputs and comparisons shared by the ONNX tests.</summary>
internal static class OnnxTestUtil
{
    public static readonly Dictionary<string, string> Meta = new()
    {
        [ModelIO.NormalizationKey] = Normalization.FashionMnist.ToJson(),
        [ModelIO.DatasetKey] = "fashion-mnist",
    };

    public static GraphModule Create(string arch, ulong seed) => ModelZoo.Create(arch, new ModelConfig(), new Rng(seed));

    /// <summary>Up to <paramref name="count"/> real Fashion-MNIST test images (normalised), or seeded noise when the dataset is absent.</summary>
    public static Tensor Images(int count)
    {
        if (Directory.Exists(DatasetSpec.FashionMnistDirectory))
        {
            var data = DatasetLoader.Load(new DatasetSpec(DatasetKind.FashionMnist), new DatasetLoadOptions { Normalization = Normalization.FashionMnist });
            return data.Test.Take(count).Images;
        }
        return Tensor.Randn(new Rng(77), 1f, count, 1, 28, 28);
    }

    public static Tensor Forward(Module m, Tensor x)
    {
        m.Eval();
        using var _ = Engine.NoGrad();
        return m.Forward(x);
    }

    /// <summary>Pruned (and for 2-D weights k-means shared) storage: what a Deep Compression .dsz holds.</summary>
    public static EncodedTensor? Compressed(string name, Tensor t)
    {
        if (t.Rank < 2) return null;
        var mask = MagnitudePruner.MaskForSparsity(t.Span, 0.9);
        var layer = Compression.Sharing.WeightSharing.Quantize(name, t.Span, mask, t.Rank == 4 ? 8 : 5, Compression.Sharing.CentroidInit.Linear, new Rng(1));
        return SparseCodebookCodec.Encode(layer.Assignments, t.Shape, layer.Centroids, t.Rank == 4 ? 8 : 5, huffman: true);
    }

    public static float MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        float m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }
}

/// <summary>A temporary directory deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("dsonnx-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

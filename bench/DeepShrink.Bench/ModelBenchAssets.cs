using DeepShrink.Nn.IO;
using DeepShrink.Compression;
using DeepShrink.Compression.Pruning;
using DeepShrink.Compression.Sharing;
using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Bench;

/// <summary>
/// Benchmark inputs without the full recipe: a Deep-Compression-style .dsz made from a dense
/// checkpoint in one shot (magnitude pruning to the paper's per-layer densities, k-means sharing,
/// sparse relative indices + codes, Huffman), and random-init checkpoints for quick runs.
/// </summary>
/// <remarks>
/// Han, Mao and Dally, "Deep Compression" (ICLR 2016), tables 2-3: LeNet-300-100 keeps 8% / 9% / 26% of
/// fc1 / fc2 / fc3; LeNet-5 keeps 66% / 12% / 8% / 19% of conv1 / conv2 / fc1 / fc2. Shared values:
/// 2^5 - 1 per fc layer and 2^8 - 1 per conv layer (the zero filler takes the last code); gaps of 5 (fc)
/// and 8 (conv) bits. Without retraining the accuracy drops more than in the paper; the kernels' work
/// (nonzeros, codes) is the same, which is what the speed measurements need.
/// </remarks>
public static class ModelBenchAssets
{
    /// <summary>Fraction of weights pruned per layer in the paper, by architecture and layer.</summary>
    public static double PaperSparsity(string arch, string layer) => (arch, layer) switch
    {
        ("lenet-300-100", "fc1") => 0.92,
        ("lenet-300-100", "fc2") => 0.91,
        ("lenet-300-100", "fc3") => 0.74,
        ("lenet-5", "conv1") => 0.34,
        ("lenet-5", "conv2") => 0.88,
        ("lenet-5", "fc1") => 0.92,
        ("lenet-5", "fc2") => 0.81,
        (_, _) => 0.9,
    };

    /// <summary>Writes the compressed form of a dense checkpoint (metadata copied).</summary>
    /// <param name="sparsity">Per-layer pruning fraction; null uses <see cref="PaperSparsity"/>.</param>
    public static void CompressCheckpoint(string checkpoint, string outDsz, Func<string, double>? sparsity = null, ulong seed = 1)
    {
        var stored = ModelIO.Load(checkpoint, DeepShrink.Compression.Quantization.InputHooks.Factories);
        sparsity ??= layer => PaperSparsity(stored.Arch, layer);
        var rng = new Rng(seed);
        var extra = stored.Metadata.Where(kv => kv.Key is not (Format.Checkpoint.ArchKey or Format.Checkpoint.ConfigKey or ModelIO.AccuracyKey))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        ModelIO.WriteDsz(outDsz, stored.Model, stored.Arch, stored.Config, (name, t) =>
        {
            if (t.Rank < 2) return null;
            bool conv = t.Rank == 4;
            var mask = MagnitudePruner.MaskForSparsity(t.Span, sparsity(name[..name.LastIndexOf('.')]));
            var shared = WeightSharing.Quantize(name, t.Span, mask, conv ? 8 : 5, CentroidInit.Linear, rng.Fork());
            return SparseCodebookCodec.Encode(shared.Assignments, t.Shape, shared.Centroids, conv ? 8 : 5, huffman: true);
        }, extra);
    }

    /// <summary>Writes a randomly initialised checkpoint of a zoo architecture (28x28 grey inputs).</summary>
    public static void RandomCheckpoint(string arch, string path, ulong seed = 1)
    {
        var config = new ModelConfig();
        ModelIO.Save(path, ModelZoo.Create(arch, config, new Rng(seed)), arch, config, new Dictionary<string, string>
        {
            [ModelIO.NormalizationKey] = Data.Normalization.FashionMnist.ToJson(),
            [ModelIO.DatasetKey] = "fashion-mnist",
        });
    }
}

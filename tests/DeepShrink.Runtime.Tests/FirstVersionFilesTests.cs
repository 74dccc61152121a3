using DeepShrink.Compression;
using DeepShrink.Compression.Quantization;
using DeepShrink.Data;
using DeepShrink.Format;
using DeepShrink.Nn.IO;
using DeepShrink.Nn.Training;
using Xunit.Abstractions;

namespace DeepShrink.Runtime.Tests;

/// <summary>
/// <c>.dsz</c> files written by the first version (numeric-attribute graphs, zoo metadata; made by the
/// CLI of commit 338b8a6, see Fixtures/v1/README.md) still load, in the trainer and in the runtime, and
/// score on the Fashion-MNIST test set what that version measured when it wrote them.
/// </summary>
public class FirstVersionFilesTests(ITestOutputHelper output)
{
    private static bool Present => Directory.Exists(DatasetSpec.FashionMnistDirectory);

    [Theory]
    [InlineData("l300-dc.dsz", 0.8640)]   // Deep Compression codecs: sparse codebook + Huffman, f16 biases
    [InlineData("r20-int8.dsz", 0.8843)]  // resnet-20, int8 weights + input quantisers, batch norm, residual adds
    [InlineData("l5-xnor.dsz", 0.8933)]   // lenet-5 XNOR-Net: binary weights + binary input hooks
    public void LoadsAndScoresWhatTheFirstVersionMeasured(string name, double recorded)
    {
        if (!Present) { output.WriteLine($"skipped: {DatasetSpec.FashionMnistDirectory} not installed"); return; }
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "v1", name);
        var file = DszFile.Read(path);
        var model = ModelIO.LoadDsz(file, InputHooks.Factories);
        var norm = Normalization.FromJson(model.Meta(ModelIO.NormalizationKey)!);
        var data = DatasetLoader.Load(DatasetSpec.Parse("fashion-mnist"), new DatasetLoadOptions { Normalization = norm, ValidationCount = 0 });
        var batches = Compressor.Ordered(data.Test).ToList();
        double trainer = Trainer.Evaluate(model.Model, batches).Accuracy;
        var rt = InferenceModel.Load(file, new RuntimeOptions { Threads = 1 });
        double runtime = Trainer.EvaluateLogits(batches.Select(b => (rt.Forward(b.X), b.Y))).Accuracy;
        output.WriteLine($"{name}: trainer {trainer:P2}, runtime {runtime:P2}, recorded {recorded:P2}");
        Assert.InRange(trainer, recorded - 0.0002, recorded + 0.0002);
        Assert.InRange(runtime, recorded - 0.0002, recorded + 0.0002);
    }
}

using DeepShrink.Nn.IO;
using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Data;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Training;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Compression.Tests;

/// <summary>Built-in precision recipes end to end on synthetic data: run, write .dsz, decode, compare.</summary>
public class QuantizationPipelineTests
{
    private sealed record Setup(GraphModule Model, string Arch, ModelConfig Config, CompressionContext Ctx, List<(Tensor X, int[] Y)> Test);

    private static Setup Train(ulong seed, string arch)
    {
        int size = arch == "lenet-5" ? 16 : 8;
        var config = new ModelConfig { ImageSize = size };
        var train = SyntheticData.Blobs(640, 10, 1, size, size, seed, noise: 1.5f);
        var test = SyntheticData.Blobs(256, 10, 1, size, size, seed, noise: 1.5f);
        var model = ModelZoo.Create(arch, config, new Rng(seed));
        var loader = new DataLoader(train, new DataLoaderOptions { BatchSize = 64, Seed = seed });
        IEnumerable<(Tensor, int[])> Batches(int e) => loader.Epoch(e).Select(b => (b.Images, b.Labels));
        new Trainer().Fit(model, new Sgd(model.NamedParameters(), 0.05f, 0.9f), Batches, 3, loader.BatchesPerEpoch);
        var testBatches = new DataLoader(test, new DataLoaderOptions { BatchSize = 128, Shuffle = false }).Epoch(0).Select(b => (b.Images, b.Labels)).ToList();
        var ctx = new CompressionContext
        {
            Model = model, TrainBatches = Batches, BatchesPerEpoch = loader.BatchesPerEpoch,
            ValidationAccuracy = () => Trainer.Evaluate(model, testBatches).Accuracy, Rng = new Rng(seed),
        };
        return new Setup(model, arch, config, ctx, testBatches);
    }

    // Runs a recipe (epochs shortened), writes the .dsz, decodes it and checks it is the same model.
    private static (Setup S, DszFile File, LoadedModel Decoded, long Bytes) Run(string recipeName, Func<string, string>? edit = null, string arch = "lenet-300-100")
    {
        var s = Train(11, arch);
        var recipe = edit is null ? RecipeLoader.Load(recipeName) : RecipeLoader.Parse(edit(BuiltIn(recipeName)), recipeName);
        var runner = new RecipeRunner(recipe);
        runner.Run(s.Ctx);
        var path = Path.Combine(Path.GetTempPath(), $"ds-quant-{Guid.NewGuid():N}.dsz");
        try
        {
            ModelIO.WriteDsz(path, s.Model, s.Arch, s.Config, (n, t) => runner.EncodeTensor(s.Ctx, n, t), new Dictionary<string, string>());
            var file = DszFile.Read(path);
            var decoded = ModelIO.LoadDsz(file, DeepShrink.Compression.Quantization.InputHooks.Factories);
            foreach (var (n, t) in s.Model.StateDict()) Assert.Equal(t.ToArray(), decoded.Model.StateDict()[n].ToArray());
            using (Engine.NoGrad())
                foreach (var (x, _) in s.Test.Take(2)) Assert.Equal(s.Model.Forward(x).ToArray(), decoded.Model.Forward(x).ToArray());
            return (s, file, decoded, new FileInfo(path).Length);
        }
        finally { File.Delete(path); }
    }

    private static string BuiltIn(string name)
    {
        var asm = typeof(RecipeLoader).Assembly;
        using var st = asm.GetManifestResourceStream($"DeepShrink.Recipes.{name}.yaml")!;
        return new StreamReader(st).ReadToEnd();
    }

    private static string Epochs(string yaml, int end) => System.Text.RegularExpressions.Regex.Replace(yaml, @"end_epoch: \d+", $"end_epoch: {end}");

    // The built-in deep-compression recipe at a fixed sparsity, by magnitude, without a teacher: prune at epoch 0,
    // cluster at 1, encode at 2.
    private static string ShortDeepCompression(string yaml, double sparsity) => System.Text.RegularExpressions.Regex.Replace(Epochs(yaml, 1)
        .Replace("sparsity: auto", $"sparsity: {sparsity.ToString(System.Globalization.CultureInfo.InvariantCulture)}")
        .Replace("criterion: obs", "criterion: magnitude").Replace("search: two-sided", "search: probe")
        .Replace("start_epoch: 45", "start_epoch: 1").Replace("start_epoch: 60", "start_epoch: 2").Replace("end_epoch: 1\n", "end_epoch: 2\n"),
        @"\n *distillation: \{[^}]*\}[^\n]*", "");

    private static long DenseBytes(DszFile f) => f.Tensors.Sum(t => t.ComputeStats().DenseBytes);

    [Fact]
    public void Int8Ptq_StoresInt8PerChannel_IsAbout4xSmaller_AndDecodesToTheEvaluatedModel()
    {
        var (s, file, decoded, bytes) = Run("int8-ptq");
        foreach (var name in new[] { "fc1.weight", "fc2.weight", "fc3.weight" })
        {
            var t = file.Tensors.Single(x => x.Name == name);
            Assert.Equal(Int8Codec.CodecName, t.Codec);
            Assert.Equal(0, Int8Codec.Open(t.Encoded).Axis);
        }
        // A small model: biases and the header weigh more than in LeNet-5 (which reaches ~3.9x).
        Assert.True((double)DenseBytes(file) / bytes > 3.5, $"ratio {(double)DenseBytes(file) / bytes}");
        var g = ModelIO.GraphOf(file);
        Assert.All(g.Nodes.Where(n => n.Op == "linear"), n => Assert.True(n.Attrs.ContainsKey("in_quant_scale")));
        Assert.All(new[] { "fc1", "fc2", "fc3" }, p => Assert.NotNull(decoded.Model.NamedModules().Single(m => m.Name == p).Module.ForwardHook));
        double acc = Trainer.Evaluate(decoded.Model, s.Test).Accuracy;
        Assert.True(acc >= s.Ctx.BaselineValidationAccuracy - 0.03, $"{s.Ctx.BaselineValidationAccuracy} -> {acc}");
    }

    [Fact]
    public void DeepCompression_WithF16Biases_DecodesToTheEvaluatedModel()
    {
        var (_, file, _, _) = Run("deep-compression", y => System.Text.RegularExpressions.Regex.Replace(ShortDeepCompression(y, 0.8), @"bias_codec: \w+", "bias_codec: f16"));
        Assert.Equal(DenseCodec.F16Name, file.Tensors.Single(x => x.Name == "fc1.bias").Codec);
        Assert.Equal(SparseCodebookCodec.CodecName, file.Tensors.Single(x => x.Name == "fc1.weight").Codec);
    }

    [Fact]
    public void DeepCompression_AutoIndexBits_PicksTheSmallestWidth()
    {
        static string Edit(string y, string bits) => System.Text.RegularExpressions.Regex.Replace(ShortDeepCompression(y, 0.9),
            @"index_bits: \{[^}]*\}", $"index_bits: {{conv: {bits}, fc: {bits}}}");
        var (_, auto, _, _) = Run("deep-compression", y => Edit(y, "auto"));
        var t = auto.Tensors.Single(x => x.Name == "fc1.weight");
        int chosen = t.Encoded.Params.GetProperty("gapBits").GetInt32();
        long autoBytes = t.Encoded.Parts.Values.Sum(p => (long)p.Length);
        foreach (var b in new[] { 3, 5, 8 })
        {
            var (_, f, _, _) = Run("deep-compression", y => Edit(y, b.ToString()));
            var ft = f.Tensors.Single(x => x.Name == "fc1.weight");
            Assert.Equal(b, ft.Encoded.Params.GetProperty("gapBits").GetInt32());
            Assert.True(autoBytes <= ft.Encoded.Parts.Values.Sum(p => (long)p.Length), $"auto ({chosen} bits) {autoBytes} B vs {b} bits");
        }
    }

    [Fact]
    public void Int8Qat_TrainsWithFakeQuantisation_AndDecodesExactly()
    {
        var (s, file, _, _) = Run("int8-qat", y => Epochs(y, 1));
        Assert.Equal(Int8Codec.CodecName, file.Tensors.Single(x => x.Name == "fc1.weight").Codec);
        Assert.True(Trainer.Evaluate(s.Model, s.Test).Accuracy > 0.5);
    }

    [Fact]
    public void BinaryConnect_StoresOneBitPerWeight()
    {
        var (s, file, _, _) = Run("binary-connect", y => Epochs(y, 2));
        foreach (var t in file.Tensors.Where(t => t.Name.EndsWith(".weight")))
        {
            Assert.Equal(BinaryCodec.CodecName, t.Codec);
            var st = t.ComputeStats();
            Assert.True((double)st.DenseBytes / st.PayloadBytes > 25, $"{t.Name}: {st.DenseBytes} / {st.PayloadBytes}");
            Assert.Single(BinaryCodec.Open(t.Encoded).Scales.ToArray());
        }
        Assert.True(Trainer.Evaluate(s.Model, s.Test).Accuracy > 0.5);
    }

    [Fact]
    public void Xnor_KeepsFirstAndLastInFloat_AndRecordsBinaryInputsInTheGraph()
    {
        var (s, file, _, _) = Run("xnor", y => Epochs(y, 2));
        Assert.Equal(DenseCodec.F32Name, file.Tensors.Single(x => x.Name == "fc1.weight").Codec);
        Assert.Equal(DenseCodec.F32Name, file.Tensors.Single(x => x.Name == "fc3.weight").Codec);
        var fc2 = file.Tensors.Single(x => x.Name == "fc2.weight");
        Assert.Equal(BinaryCodec.CodecName, fc2.Codec);
        Assert.Equal(100, BinaryCodec.Open(fc2.Encoded).Scales.Length);
        var node = ModelIO.GraphOf(file).Nodes.Single(n => n.Name == "fc2");
        Assert.Equal(1.0, node.Attrs["in_binary"]);
        Assert.Equal(1.0, node.Attrs["in_binary_scale"]);
        Assert.Equal("fc2.in_mean", node.Params["in_mean"]);
        Assert.True(Trainer.Evaluate(s.Model, s.Test).Accuracy > 0.3);
    }

    [Fact]
    public void FixedPoint_KeepsWeightsOnTheGrid_AndDecodesExactly()
    {
        var (s, file, _, _) = Run("fixed16-stochastic", y => Epochs(y, 1));
        var w = s.Model.NamedParameters().Single(p => p.Name == "fc2.weight").Param.ToArray();
        Assert.All(w, v => Assert.Equal(Math.Round(v * 16384.0), v * 16384.0));
        Assert.Equal(CodebookCodec.CodecName, file.Tensors.Single(x => x.Name == "fc2.weight").Codec);
        Assert.Equal(12.0, ModelIO.GraphOf(file).Nodes.Single(n => n.Name == "fc1").Attrs["in_fixed_frac"]);
    }

    [Fact]
    public void Xnor_OnLeNet5_BinarisesConv2AndFc1WithScaleK_AndDecodesExactly()
    {
        var (s, file, _, _) = Run("xnor", y => Epochs(y, 1), "lenet-5");
        Assert.Equal(new[] { "dense-f32", "binary", "binary", "dense-f32" },
            new[] { "conv1", "conv2", "fc1", "fc2" }.Select(n => file.Tensors.Single(t => t.Name == n + ".weight").Codec));
        var conv2 = ModelIO.GraphOf(file).Nodes.Single(n => n.Name == "conv2");
        Assert.Equal(1.0, conv2.Attrs["in_binary_scale"]);
        Assert.Equal(20, file.Tensors.Single(t => t.Name == "conv2.in_mean").Shape[0]);
        Assert.True(Trainer.Evaluate(s.Model, s.Test).Accuracy > 0.3);
    }
}

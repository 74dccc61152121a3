using DeepShrink.Nn.IO;
using DeepShrink.Compression;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn.Zoo;
using DeepShrink.Runtime;
using static DeepShrink.Onnx.Tests.OnnxTestUtil;

namespace DeepShrink.Onnx.Tests;

public class OnnxExportTests
{
    private const float Tol = 1e-4f;

    [Fact]
    public void Lenet300FromSafetensorsMatchesOnRealImages()
    {
        using var dir = new TempDir();
        var ckpt = dir.File("m.safetensors");
        ModelIO.Save(ckpt, Create("lenet-300-100", 1), "lenet-300-100", new ModelConfig(), Meta);
        var stored = ModelIO.Load(ckpt, DeepShrink.Compression.Quantization.InputHooks.Factories);
        var onnx = dir.File("m.onnx");
        OnnxExport.FromModule(stored.Model, stored.SampleShape, stored.Metadata, onnx);
        using var s = new OnnxSession(onnx, threads: 1);
        Assert.Equal([1, 28, 28], s.SampleShape);
        Assert.Equal(Meta[ModelIO.NormalizationKey], s.Metadata[ModelIO.NormalizationKey]);
        Assert.Equal("lenet-300-100", s.Metadata[Checkpoint.ArchKey]);
        var x = Images(200);
        var want = Forward(stored.Model, x);
        foreach (int batch in new[] { 1, 200 })
        {
            var (got, shape) = s.Run(x.Span[..(batch * 784)].ToArray(), batch);
            Assert.Equal([batch, 10], shape);
            Assert.True(MaxAbsDiff(want.Span[..(batch * 10)], got) <= Tol, $"batch {batch}: {MaxAbsDiff(want.Span[..(batch * 10)], got)}");
        }
    }

    [Fact]
    public void CompressedDszExportsDenselyAndMatchesTheRuntime()
    {
        using var dir = new TempDir();
        var dsz = dir.File("m.dsz");
        ModelIO.WriteDsz(dsz, Create("lenet-300-100", 2), "lenet-300-100", new ModelConfig(), Compressed, Meta);
        var onnx = dir.File("m.onnx");
        OnnxExport.FromDsz(DszFile.Read(dsz), onnx);
        using var s = new OnnxSession(onnx, threads: 2);
        var rt = InferenceModel.Load(dsz);
        var x = Images(64);
        var (got, _) = s.Run(x.Span.ToArray(), 64);
        Assert.True(MaxAbsDiff(rt.Forward(x).Span, got) <= Tol);
        Assert.Equal("fashion-mnist", s.Metadata[ModelIO.DatasetKey]);
        var buffer = new float[640];
        s.Run(x.Span.ToArray(), 64, buffer, [10]);
        Assert.Equal(got, buffer);
    }

    [Fact]
    public void ConvZooModelsMatch()
    {
        using var dir = new TempDir();
        var x = Images(8);
        foreach (var arch in new[] { "lenet-5", "vgg-small", "resnet-20" })
        {
            var m = Create(arch, 3);
            var onnx = dir.File(arch + ".onnx");
            OnnxExport.FromModule(m, [1, 28, 28], Meta, onnx);
            using var s = new OnnxSession(onnx, threads: 2);
            var (got, _) = s.Run(x.Span.ToArray(), 8);
            Assert.True(MaxAbsDiff(Forward(m, x).Span, got) <= Tol, arch);
            var dsz = dir.File(arch + ".dsz");
            ModelIO.WriteDsz(dsz, m, arch, new ModelConfig(), Compressed, Meta);
            OnnxExport.FromDsz(DszFile.Read(dsz), onnx);
            using var s2 = new OnnxSession(onnx, threads: 2);
            var (got2, _) = s2.Run(x.Span.ToArray(), 8);
            Assert.True(MaxAbsDiff(InferenceModel.Load(dsz).Forward(x).Span, got2) <= Tol, arch + " .dsz");
        }
    }

    [Fact]
    public void EveryElementwiseOpMatchesTheRuntime()
    {
        var rng = new Rng(5);
        var t = new Dictionary<string, Tensor>();
        var g = new GraphBuilder([2, 3, 4]);
        void P(string name, Tensor v) => t[name] = v;
        string v = g.Add("f0", "flatten", [g.Graph.Input], null, new() { ["start_axis"] = 2 });
        P("bn.weight", Tensor.Uniform(rng, 0.5f, 1.5f, 2)); P("bn.bias", Tensor.Randn(rng, 0.3f, 2));
        P("bn.running_mean", Tensor.Randn(rng, 0.3f, 2)); P("bn.running_var", Tensor.Uniform(rng, 0.5f, 2f, 2));
        v = g.Add("bn", "batchnorm", [v], new() { ["weight"] = "bn.weight", ["bias"] = "bn.bias", ["running_mean"] = "bn.running_mean", ["running_var"] = "bn.running_var" }, new() { ["eps"] = 1e-3 });
        v = g.Add("lr", "leaky_relu", [v], null, new() { ["slope"] = 0.1 });
        v = g.Add("f1", "flatten", [v], null, new() { ["start_axis"] = 1 });
        P("fc.weight", Tensor.Randn(rng, 0.3f, 9, 24)); P("fc.bias", Tensor.Randn(rng, 0.3f, 9));
        var h = g.Add("fc", "linear", [v], new() { ["weight"] = "fc.weight", ["bias"] = "fc.bias" });
        var a = g.Add("gelu", "gelu", [h]);
        var b = g.Add("tanh", "tanh", [h]);
        v = g.Add("add", "add", [a, b]);
        v = g.Add("sig", "sigmoid", [v]);
        v = g.Add("id", "identity", [v]);
        P("out.weight", Tensor.Randn(rng, 0.3f, 5, 9));
        v = g.Add("out", "linear", [v], new() { ["weight"] = "out.weight" });
        var graph = g.Finish(g.Add("relu", "relu", [v]));
        using var dir = new TempDir();
        var onnx = dir.File("ops.onnx");
        File.WriteAllBytes(onnx, OnnxExporter.ToBytes(graph, t));
        using var s = new OnnxSession(onnx, threads: 1);
        var rt = InferenceModel.Load(graph, n => t.TryGetValue(n, out var x) ? DenseCodec.EncodeF32(x.Span, x.Shape) : null);
        var input = Tensor.Randn(rng, 1f, 3, 2, 3, 4);
        var (got, shape) = s.Run(input.Span.ToArray(), 3);
        Assert.Equal([3, 5], shape);
        Assert.True(MaxAbsDiff(rt.Forward(input).Span, got) <= Tol);
    }

    [Fact]
    public void UnsupportedOpsMissingTensorsAndBadFilesGiveOneLineErrors()
    {
        var g = new GraphBuilder([4]);
        var graph = g.Finish(g.Add("sm", "lstm", [g.Graph.Input]));
        var e = Assert.Throws<NotSupportedException>(() => OnnxExporter.Build(graph, new Dictionary<string, Tensor>()));
        Assert.Contains("'lstm'", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        var g2 = new GraphBuilder([4]);
        var graph2 = g2.Finish(g2.Add("fc", "linear", [g2.Graph.Input], new() { ["weight"] = "fc.weight" }));
        var e2 = Assert.Throws<InvalidDataException>(() => OnnxExporter.Build(graph2, new Dictionary<string, Tensor>()));
        Assert.Contains("fc.weight", e2.Message);
        using var dir = new TempDir();
        var bad = dir.File("bad.onnx");
        File.WriteAllBytes(bad, [1, 2, 3, 4, 5, 6, 7, 8]);
        var e3 = Assert.Throws<InvalidDataException>(() => new OnnxSession(bad));
        Assert.DoesNotContain('\n', e3.Message);
        Assert.Throws<FileNotFoundException>(() => new OnnxSession(dir.File("missing.onnx")));
    }
}

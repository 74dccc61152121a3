using DeepShrink.Core;
using DeepShrink.Onnx.Import;

namespace DeepShrink.Onnx.Tests;

/// <summary>Models our exporter writes import back and match ONNX Runtime on the exported file.</summary>
public class OnnxImportRoundTripTests
{
    [Theory]
    [InlineData("lenet-300-100", new[] { "linear", "relu" })]
    [InlineData("lenet-5", new[] { "conv2d", "maxpool2d", "linear" })]
    [InlineData("resnet-20", new[] { "conv2d", "batchnorm", "add", "global_avgpool2d" })]
    public void ExportedZooModel_ImportsAndMatchesOnnxRuntime(string arch, string[] ops)
    {
        using var dir = new TempDir();
        var onnx = dir.File("m.onnx");
        var module = OnnxTestUtil.Create(arch, 3);
        int[] sample = [1, 28, 28];
        OnnxExport.FromModule(module, sample, OnnxTestUtil.Meta, onnx);
        var m = OnnxImporter.Import(onnx);
        Assert.Equal(sample, m.Graph.InputShape);
        foreach (var op in ops) Assert.Contains(op, m.Graph.Nodes.Select(n => n.Op));
        var x = Tensor.Randn(new Rng(4), 1f, [4, .. sample]);
        var p = OnnxParity.Compare(m, onnx, x.Span, 4, threads: 1);
        Assert.True(p.MaxAbsDiff <= 1e-4 * Math.Max(1, p.MaxAbsReference), $"max |diff| {p.MaxAbsDiff}");
        var original = OnnxTestUtil.Forward(module, x);
        Assert.True(original.MaxAbsDiff(OnnxParity.Load(m).Forward(x)) <= 1e-4f, "the imported graph differs from the module it was exported from");
    }
}

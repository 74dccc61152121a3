using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Onnx.Import;
using Xunit.Abstractions;

namespace DeepShrink.Onnx.Tests;

/// <summary>
/// The real model: ResNet18.onnx (CNTK 2.6, opset 8) fetched through NuGet by the same code as
/// <c>deepshrink fetch resnet18-imagenet</c>. When NuGet cannot be reached the tests say so and return.
/// </summary>
public class ResNet18ImportTests(ITestOutputHelper output)
{
    private string? Fetch()
    {
        try { return PretrainedModels.Fetch(PretrainedModels.ResNet18, output.WriteLine); }
        catch (IOException e)
        {
            output.WriteLine($"SKIPPED: ResNet18 could not be fetched (NuGet unreachable?): {e.Message}");
            return null;
        }
    }

    [Fact]
    public void ResNet18_ImportsEveryOp_AndMatchesOnnxRuntime_WithDynamicBatch()
    {
        if (Fetch() is not string path) return;
        var m = OnnxImporter.Import(path);
        Assert.Equal(8, m.Info.Opset);
        Assert.Equal([1L, 3, 224, 224], m.Info.OnnxInputShape);
        Assert.Equal(["Conv", "BatchNormalization", "Relu", "MaxPool", "Add", "AveragePool"], m.Info.OnnxOps.Select(kv => kv.Key).ToArray());
        Assert.Equal([3, 224, 224], m.Graph.InputShape);
        Assert.Equal([512, 1, 1], GraphAnalysis.OutputShape(m.Graph, m.ParamShape));
        Assert.DoesNotContain("pad", m.Graph.Nodes.Select(n => n.Op));   // CNTK's asymmetric pads fold into symmetric ones
        var x = Tensor.Randn(new Rng(5), 1f, 3, 3, 224, 224);
        var p = OnnxParity.Compare(m, path, x.Span, 3);              // ours runs the 3 samples as one batch
        output.WriteLine($"ResNet18 parity on 3 noise inputs: max |diff| {p.MaxAbsDiff:G3}, min cosine {p.MinCosine:F9}");
        Assert.True(p.MaxAbsDiff <= 1e-3, $"max |diff| {p.MaxAbsDiff}");
        Assert.True(p.MinCosine >= 0.99999, $"cosine {p.MinCosine}");
    }

    [Fact]
    public void ResNet18_GlobalPoolOption_AcceptsSmallerImages()
    {
        if (Fetch() is not string path) return;
        var plain = OnnxImporter.Import(path).Graph;
        var global = OnnxImporter.Import(path, new OnnxImportOptions { GlobalPoolFullWindowAverage = true });
        Assert.Equal("global_avgpool2d", global.Graph.Nodes[^1].Op);
        plain.InputShape = [3, 160, 160];
        var g = global.Graph.Clone();
        g.InputShape = [3, 160, 160];
        Assert.Equal([512, 1, 1], GraphAnalysis.OutputShape(g, global.ParamShape));
        Assert.Throws<FormatException>(() => GraphAnalysis.OutputShape(plain, global.ParamShape));
    }

    [Fact]
    public void Preprocessing_IsBgrMinusTheCaffeMeans()
    {
        if (Fetch() is not string path) return;
        var pre = PretrainedModels.PreprocessFile(PretrainedModels.ResNet18, path);
        Assert.NotNull(pre);
        var p = ImagePreprocessing.Measure(pre!);
        Assert.Equal([2, 1, 0], p.ChannelOrder);
        Assert.All(p.Std, s => Assert.Equal(1 / 255f, s, 5));
        Assert.Equal(103.06f / 255, p.Mean[0], 3);                    // blue, the mean image's channel average
        Assert.Equal(123.15f / 255, p.Mean[2], 3);                    // red
        Assert.InRange(p.MaxPixelDeviation, 1, 30);                   // a mean image, not a constant per channel
    }
}

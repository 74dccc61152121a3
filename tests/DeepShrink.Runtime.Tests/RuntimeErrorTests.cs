using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Runtime.Tests;

public class RuntimeErrorTests
{
    private static void OneLine(Exception e) => Assert.DoesNotContain('\n', e.Message);

    private static (ModelGraph, Dictionary<string, EncodedTensor>) Tiny(string op = "relu", int[]? weightShape = null)
    {
        var g = new GraphBuilder([4]);
        var v = g.Add("fc", "linear", [g.Graph.Input], new() { ["weight"] = "fc.weight" });
        v = g.Add("act", op, [v]);
        var shape = weightShape ?? [3, 4];
        var t = new Dictionary<string, EncodedTensor> { ["fc.weight"] = DenseCodec.EncodeF32(new float[ShapeUtil.Numel(shape)], shape) };
        return (g.Finish(v), t);
    }

    [Fact]
    public void UnsupportedOpNamesTheNodeAndTheOp()
    {
        var (g, t) = Tiny("lstm");
        var e = Assert.Throws<InvalidDataException>(() => InferenceModel.Load(g, n => t.GetValueOrDefault(n)));
        Assert.Contains("'act'", e.Message);
        Assert.Contains("unsupported op 'lstm'", e.Message);
        OneLine(e);
    }

    [Fact]
    public void ShapeMismatchAndMissingTensorsAreNamed()
    {
        var (g, t) = Tiny(weightShape: [3, 5]);
        var e = Assert.Throws<InvalidDataException>(() => InferenceModel.Load(g, n => t.GetValueOrDefault(n)));
        Assert.Contains("fc.weight", e.Message);
        Assert.Contains("[3, 5]", e.Message);
        OneLine(e);
        var e2 = Assert.Throws<InvalidDataException>(() => InferenceModel.Load(g, _ => null));
        Assert.Contains("not in the model", e2.Message);
        OneLine(e2);
    }

    [Fact]
    public void CorruptTruncatedAndGraphlessFilesFailWithOneLine()
    {
        using var dir = new TempDir();
        var path = TestModels.Write(TestModels.Create("lenet-300-100", 40), "lenet-300-100", TestModels.DeepCompression(), dir);
        var bytes = File.ReadAllBytes(path);
        var flipped = (byte[])bytes.Clone();
        flipped[bytes.Length - 100] ^= 0x40;
        var corrupt = Path.Combine(dir.Path, "corrupt.dsz");
        File.WriteAllBytes(corrupt, flipped);
        OneLine(Assert.Throws<DszFormatException>(() => InferenceModel.Load(corrupt)));
        var truncated = Path.Combine(dir.Path, "short.dsz");
        File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        OneLine(Assert.Throws<DszFormatException>(() => InferenceModel.Load(truncated)));
        var graphless = Path.Combine(dir.Path, "nograph.dsz");
        new DszWriter().Add("w", DenseCodec.EncodeF32([1f], [1])).WriteTo(graphless);
        var e = Assert.Throws<DszFormatException>(() => InferenceModel.Load(graphless));
        Assert.Contains("no model graph", e.Message);
    }

    [Fact]
    public void WrongInputSizesAreRejected()
    {
        var (g, t) = Tiny();
        var m = InferenceModel.Load(g, n => t.GetValueOrDefault(n));
        Assert.Throws<ArgumentException>(() => m.Run(new float[5], 1, new float[3]));
        Assert.Throws<ArgumentException>(() => m.Run(new float[8], 2, new float[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Run(new float[0], 0, new float[0]));
        Assert.Throws<ArgumentException>(() => m.Forward(Tensor.Zeros(2, 5)));
        Assert.Throws<ArgumentOutOfRangeException>(() => InferenceModel.Load(g, n => t.GetValueOrDefault(n), null, new RuntimeOptions { Threads = -1 }));
    }
}

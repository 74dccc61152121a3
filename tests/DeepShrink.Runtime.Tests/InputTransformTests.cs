using DeepShrink.Compression.Binarization;
using DeepShrink.Compression.Quantization;
using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Runtime.Tests;

/// <summary>Quantised, fixed-point and binary inputs (graph input transforms) match the decoded model with its hooks.</summary>
public class InputTransformTests
{
    [Theory]
    [InlineData("lenet-300-100")]
    [InlineData("lenet-5")]
    public void HookedModelsMatchTheDecodedModel(string arch)
    {
        var model = TestModels.Create(arch, 60);
        var layers = model.NamedModules().Where(m => m.Module is Linear or Conv2d).Select(m => m.Module).ToList();
        var rng = new Rng(61);
        layers[0].ForwardHook = new InputQuantizer { Params = new QuantParams(0.05f, 3, -128, 127) };
        layers[1].ForwardHook = Binary(layers[1], xnor: true, rng);
        layers[2].ForwardHook = new FixedPointInputHook(new FixedPointFormat(8, 3), null, null);
        if (layers.Count > 3) layers[3].ForwardHook = Binary(layers[3], xnor: false, rng);
        using var dir = new TempDir();
        var path = TestModels.Write(model, arch, TestModels.DeepCompression(0.6), dir);
        var x = Tensor.Randn(new Rng(62), 1f, 5, 1, 28, 28);
        var want = InferenceModelTests.Decoded(path, x);
        foreach (var policy in new[] { KernelPolicy.Compressed, KernelPolicy.Dense })
        {
            var got = InferenceModel.Load(path, new RuntimeOptions { Kernels = policy }).Forward(x);
            Assert.True(want.MaxAbsDiff(got) <= 1e-4f, $"{arch} {policy}: {want.MaxAbsDiff(got)}");
        }
    }

    [Fact]
    public void UnknownTransformAttributesAreRejected()
    {
        var g = new Core.Graph.GraphBuilder([4]);
        var v = g.Add("fc", "linear", [g.Graph.Input], new() { ["weight"] = "w" }, new() { ["in_ternary"] = 1 });
        var graph = g.Finish(v);
        var t = Format.Codecs.DenseCodec.EncodeF32(new float[12], [3, 4]);
        var e = Assert.Throws<InvalidDataException>(() => InferenceModel.Load(graph, _ => t));
        Assert.Contains("in_ternary", e.Message);
    }

    private static BinaryInputHook Binary(Module layer, bool xnor, Rng rng)
    {
        var h = BinaryInputHook.For(layer, xnor);
        var mean = h.State["in_mean"];
        var variance = h.State["in_var"];
        for (int i = 0; i < mean.Size; i++) { mean.Span[i] = (float)(rng.NextDouble() * 0.4 - 0.2); variance.Span[i] = (float)(0.5 + rng.NextDouble()); }
        return h;
    }
}

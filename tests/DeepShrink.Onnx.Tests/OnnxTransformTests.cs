using DeepShrink.Nn.IO;
using DeepShrink.Compression;
using DeepShrink.Compression.Binarization;
using DeepShrink.Compression.Quantization;
using DeepShrink.Core;
using DeepShrink.Format;
using DeepShrink.Nn;
using DeepShrink.Nn.Zoo;
using DeepShrink.Runtime;
using static DeepShrink.Onnx.Tests.OnnxTestUtil;

namespace DeepShrink.Onnx.Tests;

/// <summary>Quantised, fixed-point and binary inputs exported as ONNX ops give the decoded model's outputs in ONNX Runtime.</summary>
public class OnnxTransformTests
{
    [Theory]
    [InlineData("lenet-300-100", -128, 127)]
    [InlineData("lenet-5", -127, 127)]
    [InlineData("lenet-5", 0, 255)]
    public void HookedModelsMatch(string arch, int qMin, int qMax)
    {
        var model = Create(arch, 7);
        var layers = model.NamedModules().Where(m => m.Module is Linear or Conv2d).Select(m => m.Module).ToList();
        var rng = new Rng(8);
        layers[0].ForwardHook = new InputQuantizer { Params = new QuantParams(0.04f, qMin < 0 ? 2 : 40, qMin, qMax) };
        layers[1].ForwardHook = Binary(layers[1], xnor: true, rng);
        layers[2].ForwardHook = new FixedPointInputHook(new FixedPointFormat(8, 3), null, null);
        if (layers.Count > 3) layers[3].ForwardHook = Binary(layers[3], xnor: true, rng);
        using var dir = new TempDir();
        var dsz = dir.File("m.dsz");
        ModelIO.WriteDsz(dsz, model, arch, new ModelConfig(), Compressed, Meta);
        var onnx = dir.File("m.onnx");
        OnnxExport.FromDsz(DszFile.Read(dsz), onnx);
        using var s = new OnnxSession(onnx, threads: 1);
        var x = Images(16);
        var (got, _) = s.Run(x.Span.ToArray(), 16);
        var want = Forward(ModelIO.LoadDsz(DszFile.Read(dsz), DeepShrink.Compression.Quantization.InputHooks.Factories).Model, x);
        Assert.True(MaxAbsDiff(want.Span, got) <= 1e-4f, $"{arch}: {MaxAbsDiff(want.Span, got)}");
        Assert.True(MaxAbsDiff(InferenceModel.Load(dsz).Forward(x).Span, got) <= 1e-4f);
    }

    private static BinaryInputHook Binary(Module layer, bool xnor, Rng rng)
    {
        var h = BinaryInputHook.For(layer, xnor);
        Tensor.Uniform(rng, -0.2f, 0.2f, h.State["in_mean"].Size).Span.CopyTo(h.State["in_mean"].Span);
        Tensor.Uniform(rng, 0.5f, 1.5f, h.State["in_var"].Size).Span.CopyTo(h.State["in_var"].Span);
        return h;
    }
}

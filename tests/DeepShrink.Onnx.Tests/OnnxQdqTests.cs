using DeepShrink.Nn.IO;
using DeepShrink.Compression;
using DeepShrink.Compression.Quantization;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn;
using DeepShrink.Nn.Zoo;
using DeepShrink.Runtime;
using Microsoft.ML.OnnxRuntime;
using static DeepShrink.Onnx.Tests.OnnxTestUtil;

namespace DeepShrink.Onnx.Tests;

/// <summary>int8 models exported in QDQ form: int8 weight initializers, ONNX Runtime runs them with integer kernels and matches our runtime.</summary>
public class OnnxQdqTests
{
    [Theory]
    [InlineData("lenet-300-100", true)]
    [InlineData("lenet-5", true)]
    [InlineData("lenet-5", false)]
    public void Int8ModelsExportAsQdqAndMatchOurRuntime(string arch, bool perChannel)
    {
        var model = Create(arch, 21);
        foreach (var (layer, i) in model.NamedModules().Where(m => m.Module is Linear or Conv2d).Select((m, i) => (m.Module, i)))
            layer.ForwardHook = new InputQuantizer { Params = new QuantParams(0.03f + 0.01f * i, -100 + 9 * i, -128, 127) };
        var scheme = new QuantScheme(PerChannel: perChannel);
        using var dir = new TempDir();
        var dsz = dir.File("m.dsz");
        ModelIO.WriteDsz(dsz, model, arch, new ModelConfig(), (_, t) => t.Rank < 2 ? null : WeightQuantizer.Encode(t, WeightQuantizer.Calibrate(t, scheme)), Meta);
        var onnx = dir.File("m.onnx");
        OnnxExport.FromDsz(DszFile.Read(dsz), onnx);

        var proto = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnx));
        var dq = proto.Graph.Node.Where(n => n.OpType == "DequantizeLinear" && n.Input[0].EndsWith("_quantized", StringComparison.Ordinal)).ToList();
        int weights = model.NamedModules().Count(m => m.Module is Linear or Conv2d);
        Assert.Equal(weights, dq.Count);
        Assert.All(dq, n => Assert.Equal(perChannel ? 1 : 0, n.Attribute.Count(a => a.Name == "axis" && a.I == 0)));
        Assert.All(proto.Graph.Initializer.Where(t => t.Name.EndsWith("_quantized", StringComparison.Ordinal)),
            t => Assert.Equal((int)global::Onnx.TensorProto.Types.DataType.Int8, t.DataType));
        Assert.Equal(weights, proto.Graph.Node.Count(n => n.OpType == "QuantizeLinear"));

        var x = Images(32);
        using var s = new OnnxSession(onnx, threads: 1);
        var (got, _) = s.Run(x.Span.ToArray(), 32);
        foreach (var policy in new[] { KernelPolicy.Dense, KernelPolicy.Compressed })
        {
            var ours = InferenceModel.Load(dsz, new RuntimeOptions { Kernels = policy }).Forward(x);
            // ONNX Runtime's fused kernels requantise int32 sums straight to the next layer's codes, so a value within
            // float rounding of a rounding tie can land one code away from ours; everything else agrees to float rounding.
            float scale = ours.Span.ToArray().Max(MathF.Abs);
            int images = 0, sameClass = 0;
            for (int b = 0; b < 32; b++)
            {
                var o = ours.Span.Slice(b * 10, 10);
                var r = got.AsSpan(b * 10, 10);
                if (MaxAbsDiff(o, r) <= 1e-4f * scale) images++;
                if (o.IndexOf(ArgMaxValue(o)) == r.IndexOf(ArgMaxValue(r))) sameClass++;
            }
            Assert.True(images >= 20 && sameClass >= 30 && MaxAbsDiff(ours.Span, got) <= 0.1f * scale,
                $"{arch} {policy}: {images} of 32 images agree to float rounding, {sameClass} predict the same class, max |diff| {MaxAbsDiff(ours.Span, got)} (outputs up to {scale})");
        }
    }

    private static float ArgMaxValue(ReadOnlySpan<float> v) => System.Numerics.Tensors.TensorPrimitives.Max(v);

    [Fact]
    public void OnnxRuntimeFusesTheQdqModelIntoIntegerKernels()
    {
        var model = Create("lenet-5", 22);
        foreach (var m in model.NamedModules().Where(m => m.Module is Linear or Conv2d))
            m.Module.ForwardHook = new InputQuantizer { Params = new QuantParams(0.05f, -128, -128, 127) };
        using var dir = new TempDir();
        var dsz = dir.File("m.dsz");
        var scheme = new QuantScheme();
        ModelIO.WriteDsz(dsz, model, "lenet-5", new ModelConfig(), (_, t) => t.Rank < 2 ? null : WeightQuantizer.Encode(t, WeightQuantizer.Calibrate(t, scheme)), Meta);
        var onnx = dir.File("m.onnx");
        OnnxExport.FromDsz(DszFile.Read(dsz), onnx);
        var optimized = dir.File("m.opt.onnx");
        using (var o = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimized })
        using (new InferenceSession(onnx, o)) { }
        var ops = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node.Select(n => n.OpType).ToList();
        Assert.True(ops.Any(op => op is "QLinearConv" or "QLinearMatMul" or "QGemm" or "MatMulIntegerToFloat" or "ConvInteger" or "MatMulInteger"),
            $"ONNX Runtime ran no integer kernel; optimized graph: {string.Join(", ", ops)}");
    }

    [Fact]
    public void QuantizeLinearRoundsHalfToEvenAndSaturatesLikeOurQuantiser()
    {
        // identity weights and scale 1: the output is the input's code minus the zero point
        const int n = 12;
        var g = new GraphBuilder([n]);
        var v = g.Add("fc", "linear", [g.Graph.Input], new() { ["weight"] = "w" },
            new() { ["in_quant_scale"] = 1, ["in_quant_zero_point"] = 3, ["in_quant_min"] = -128, ["in_quant_max"] = 127 });
        var graph = g.Finish(v);
        var q = new sbyte[n * n];
        for (int i = 0; i < n; i++) q[i * n + i] = 1;
        var w = Int8Codec.Encode(q, [n, n], [1f], [0], null);
        float[] x = [0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 124.5f, 125.5f, 200f, -131.5f, -132.5f, -1000f];
        float[] want = [0, 2, 2, 0, -2, -2, 124, 124, 124, -131, -131, -131]; // round half to even, then codes saturate at 127 / -128 (zero point 3)
        using var dir = new TempDir();
        var onnx = dir.File("m.onnx");
        File.WriteAllBytes(onnx, Google.Protobuf.MessageExtensions.ToByteArray(OnnxExporter.Build(graph,
            new Dictionary<string, Tensor> { ["w"] = new Tensor(Int8Codec.Instance.Decode(w), n, n) }, null,
            new Dictionary<string, Int8Tensor> { ["w"] = Int8Codec.Open(w) })));
        using var s = new OnnxSession(onnx, threads: 1);
        Assert.Equal(want, s.Run(x, 1).Values);
        foreach (var policy in new[] { KernelPolicy.Dense, KernelPolicy.Compressed })
            Assert.Equal(want, InferenceModel.Load(graph, name => name == "w" ? w : null, null, new RuntimeOptions { Kernels = policy }).Run(x, 1));
    }
}

using DeepShrink.Compression.Binarization;
using DeepShrink.Compression.Quantization;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn;
using DeepShrink.Runtime.Kernels;

namespace DeepShrink.Runtime.Tests;

/// <summary>
/// The integer (int8 GEMM) and bit (XNOR-popcount, binary-weight) paths of the runtime against the float
/// simulation of the same quantised model (<see cref="KernelPolicy.Dense"/>: decoded weights, float input transforms).
/// </summary>
public class IntegerKernelTests
{
    [Theory]
    [InlineData("lenet-300-100")]
    [InlineData("lenet-5")]
    public void Int8ModelsMatchTheFloatSimulation(string arch)
    {
        var model = TestModels.Create(arch, 70);
        foreach (var (layer, i) in model.NamedModules().Where(m => m.Module is Linear or Conv2d).Select((m, i) => (m.Module, i)))
            layer.ForwardHook = new InputQuantizer { Params = new QuantParams(0.02f + 0.01f * i, -20 + 7 * i, -128, 127) };
        using var dir = new TempDir();
        var scheme = new QuantScheme();
        var path = TestModels.Write(model, arch, (_, t) => t.Rank < 2 ? null : WeightQuantizer.Encode(t, WeightQuantizer.Calibrate(t, scheme)), dir);
        var x = Tensor.Randn(new Rng(71), 1f, 9, 1, 28, 28);
        var want = InferenceModel.Load(path, new RuntimeOptions { Kernels = KernelPolicy.Dense }).Forward(x);
        var int8 = InferenceModel.Load(path, new RuntimeOptions { Kernels = KernelPolicy.Compressed });
        Assert.All(int8.Layers, l => Assert.Equal("int8", l.Kernel));
        var got = int8.Forward(x);
        float scale = want.Span.ToArray().Max(MathF.Abs);
        Assert.True(want.MaxAbsDiff(got) <= 1e-5f * scale, $"{arch}: {want.MaxAbsDiff(got)} (outputs up to {scale})");
        for (int b = 1; b <= 3; b++) // batch 1..3 give the same rows as the batch of 9
            Assert.Equal(got.Span[..(b * 10)].ToArray(), int8.Run(x.Span[..(b * 784)], b));
    }

    [Theory]
    [InlineData(0, true)]   // symmetric per-channel weights
    [InlineData(5, false)]  // asymmetric per-tensor weights (zero point 5): row-sum correction
    [InlineData(-3, false)]
    public void Int8IntegerAccumulationIsExact(int weightZero, bool perChannel)
    {
        // Power-of-two scales and short dot products: the float simulation is exact, so both paths must agree bit for bit.
        var rng = new Rng(72);
        var (graph, tensors) = Tiny(rng, (name, shape) =>
        {
            int n = shape.Aggregate(1, (a, b) => a * b), rows = shape[0];
            var q = new sbyte[n];
            for (int i = 0; i < n; i++) q[i] = (sbyte)(rng.NextInt(256) - 128);
            var scales = perChannel ? Enumerable.Range(0, rows).Select(r => MathF.ScaleB(1f, -6 - r % 3)).ToArray() : [MathF.ScaleB(1f, -7)];
            var zps = perChannel ? new sbyte[rows] : [(sbyte)weightZero];
            return Int8Codec.Encode(q, shape, scales, zps, perChannel ? 0 : null);
        }, new() { ["in_quant_scale"] = 0.0625, ["in_quant_zero_point"] = -9, ["in_quant_min"] = -128, ["in_quant_max"] = 127 });
        var x = Tensor.Randn(new Rng(73), 3f, 4, 2, 6, 6);
        var (want, got, layers) = BothPaths(graph, tensors, x);
        Assert.All(layers, l => Assert.Equal("int8", l.Kernel));
        Assert.Equal(want, got);
    }

    [Fact]
    public void NarrowInputCodeRangesAreClamped()
    {
        var rng = new Rng(74);
        var (graph, tensors) = Tiny(rng, (name, shape) =>
        {
            var q = new sbyte[shape.Aggregate(1, (a, b) => a * b)];
            for (int i = 0; i < q.Length; i++) q[i] = (sbyte)(rng.NextInt(255) - 127);
            return Int8Codec.Encode(q, shape, [0.25f], [0], null);
        }, new() { ["in_quant_scale"] = 0.125, ["in_quant_zero_point"] = 0, ["in_quant_min"] = -7, ["in_quant_max"] = 7 });
        var (want, got, _) = BothPaths(graph, tensors, Tensor.Randn(new Rng(75), 4f, 3, 2, 6, 6));
        Assert.Equal(want, got);
    }

    [Theory]
    [InlineData(0)] // BNN: binary inputs, one alpha per layer
    [InlineData(1)] // XNOR-Net: alpha per output channel, K rescaling
    public void BinaryInputLayersRunXnorAndMatch(int xnor)
    {
        var rng = new Rng(76);
        var (graph, tensors) = Tiny(rng, (name, shape) =>
        {
            var w = Tensor.Randn(rng, 1f, shape).Span.ToArray();
            var alphas = xnor == 1 ? Enumerable.Range(0, shape[0]).Select(r => MathF.ScaleB(1f, -r % 4)).ToArray() : [0.5f];
            return BinaryCodec.EncodeSigns(w, shape, alphas, xnor == 1 ? 0 : null);
        }, new() { ["in_binary"] = 1, ["in_binary_scale"] = xnor, ["in_binary_eps"] = 1e-5 }, binaryStats: true);
        var (want, got, layers) = BothPaths(graph, tensors, Tensor.Randn(new Rng(77), 1f, 5, 2, 6, 6));
        Assert.All(layers, l => Assert.Equal("xnor", l.Kernel));
        if (xnor == 0) Assert.Equal(want, got); // +-1 inputs, power-of-two alphas: exact, zero padding included
        else Assert.True(MaxDiff(want, got) <= 1e-5f, $"{MaxDiff(want, got)}");
    }

    [Fact]
    public void BinaryConnectLayersRunTheBinaryWeightKernel()
    {
        var rng = new Rng(78);
        var (graph, tensors) = Tiny(rng, (name, shape) =>
            BinaryCodec.EncodeSigns(Tensor.Randn(rng, 1f, shape).Span, shape, [0.25f], null), new());
        var x = Tensor.Randn(new Rng(79), 1f, 20, 2, 6, 6);
        var (want, got, layers) = BothPaths(graph, tensors, x);
        Assert.All(layers, l => Assert.Equal("binary", l.Kernel));
        Assert.True(MaxDiff(want, got) <= 1e-4f, $"{MaxDiff(want, got)}");
    }

    [Fact]
    public void XnorMatrixRejectsNonBinaryInputs()
    {
        var t = BinaryCodec.Open(BinaryCodec.EncodeSigns([1f, -1f, 1f, 1f], [2, 2], [1f], null));
        var m = new XnorMatrix(t, 2, 2);
        var e = Assert.Throws<InvalidOperationException>(() => m.MultiplyRows([0.5f, 1f], 1, new float[2], 1));
        Assert.Contains("{-1, 0, +1}", e.Message);
    }

    [Fact]
    public void XnorMatrixHandlesZerosExactly()
    {
        var signs = Tensor.Randn(new Rng(80), 1f, 3, 70).Span.ToArray();
        var t = BinaryCodec.Open(BinaryCodec.EncodeSigns(signs, [3, 70], [1f], null));
        var x = new float[2 * 70];
        var rng = new Rng(81);
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextInt(3) - 1;
        var got = new float[6];
        new XnorMatrix(t, 3, 70).MultiplyRows(x, 2, got, 1);
        var want = new float[6];
        new DenseMatrix(t.ToDense(), 3, 70).MultiplyRows(x, 2, want, 1);
        Assert.Equal(want, got);
    }

    private static float MaxDiff(float[] a, float[] b) => a.Zip(b, (u, v) => MathF.Abs(u - v)).Max();

    private static (float[] Want, float[] Got, IReadOnlyList<LayerReport> Layers) BothPaths(ModelGraph graph, Dictionary<string, EncodedTensor> tensors, Tensor x)
    {
        EncodedTensor? Get(string n) => tensors.GetValueOrDefault(n);
        var dense = InferenceModel.Load(graph, Get, null, new RuntimeOptions { Kernels = KernelPolicy.Dense });
        var fast = InferenceModel.Load(graph, Get, null, new RuntimeOptions { Kernels = KernelPolicy.Compressed });
        return (dense.Forward(x).Span.ToArray(), fast.Forward(x).Span.ToArray(), fast.Layers);
    }

    /// <summary>conv 2->4 (3x3, pad 1) -> relu -> conv 4->3 (3x3, stride 2, pad 1) -> flatten -> linear 27->5, weights from <paramref name="weight"/>, every layer with <paramref name="attrs"/>.</summary>
    private static (ModelGraph, Dictionary<string, EncodedTensor>) Tiny(Rng rng, Func<string, int[], EncodedTensor> weight, Dictionary<string, AttrValue> attrs, bool binaryStats = false)
    {
        var tensors = new Dictionary<string, EncodedTensor>(StringComparer.Ordinal);
        var g = new GraphBuilder([2, 6, 6]);
        Dictionary<string, string> Params(string node, int[] shape, int inChannels)
        {
            var p = new Dictionary<string, string> { ["weight"] = node + ".weight", ["bias"] = node + ".bias" };
            tensors[node + ".weight"] = weight(node, shape);
            var bias = Tensor.Randn(rng, 0.5f, shape[0]).Span.ToArray().Select(b => MathF.Round(b * 16) / 16).ToArray(); // exact in every sum
            tensors[node + ".bias"] = DenseCodec.EncodeF32(bias, [shape[0]]);
            if (binaryStats)
            {
                p["in_mean"] = node + ".in_mean"; p["in_var"] = node + ".in_var";
                tensors[node + ".in_mean"] = DenseCodec.EncodeF32(Tensor.Randn(rng, 0.1f, inChannels).Span, [inChannels]);
                tensors[node + ".in_var"] = DenseCodec.EncodeF32(Enumerable.Repeat(0.8f, inChannels).ToArray(), [inChannels]);
            }
            return p;
        }
        Dictionary<string, AttrValue> Conv(int stride) => new(attrs) { ["stride_h"] = stride, ["stride_w"] = stride, ["pad_h"] = 1, ["pad_w"] = 1 };
        var v = g.Add("conv1", "conv2d", [g.Graph.Input], Params("conv1", [4, 2, 3, 3], 2), Conv(1));
        v = g.Add("relu1", "relu", [v]);
        v = g.Add("conv2", "conv2d", [v], Params("conv2", [3, 4, 3, 3], 4), Conv(2));
        v = g.Add("flat", "flatten", [v]);
        v = g.Add("fc", "linear", [v], Params("fc", [5, 27], 27), new(attrs));
        return (g.Finish(v), tensors);
    }
}

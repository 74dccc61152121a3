using DeepShrink.Compression.Structured;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Core.Graph;
using DeepShrink.Core.Kernels;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn;
using DeepShrink.Nn.IO;
using DeepShrink.Runtime;
using Google.Protobuf;
using static DeepShrink.Onnx.Tests.OnnxTestUtil;

namespace DeepShrink.Onnx.Tests;

/// <summary>
/// The structured layers (circulant_linear, shared_conv2d with negation / p4 / p4m) end to end: gradients, exact
/// equivariance, trainer = runtime, .dsz round trip, ONNX Runtime parity; and the conversions of trained layers.
/// </summary>
public class StructuredLayerTests
{
    /// <summary>A small graph with one structured layer of the given kind (random parameters).</summary>
    private static (ModelGraph Graph, Dictionary<string, Tensor> Tensors) Sample(string kind, ulong seed = 7)
    {
        var rng = new Rng(seed);
        var t = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (kind.StartsWith("circulant", StringComparison.Ordinal))
        {   // 37 inputs padded to 3 blocks of 16, 21 outputs of 2 blocks; signs; then a dense classifier
            var g = new GraphBuilder([37]);
            t["c.weight"] = Tensor.Randn(rng, 0.3f, 2, 3, 16); t["c.bias"] = Tensor.Randn(rng, 0.1f, 21);
            var attrs = new Dictionary<string, AttrValue> { ["input_features"] = 37, ["out_features"] = 21 };
            if (kind == "circulant-signs") attrs["sign_seed"] = 5;
            var v = g.Add("c", StructuredOps.Circulant, [g.Graph.Input], new() { ["weight"] = "c.weight", ["bias"] = "c.bias" }, attrs);
            v = g.Add("r", "relu", [v]);
            t["fc.weight"] = Tensor.Randn(rng, 0.3f, 4, 21);
            return (g.Finish(g.Add("fc", "linear", [v], new() { ["weight"] = "fc.weight" })), t);
        }
        var sharing = SharedFilterMap.Parse(kind.Split('-')[0]);
        int stored = 3, outC = stored * SharedFilterMap.Multiplicity(sharing);
        bool group = kind.EndsWith("-group", StringComparison.Ordinal);   // group convolution: input channels are 2 orbits in a random order
        int inC = group ? 2 * SharedFilterMap.Multiplicity(sharing) : 2;
        var gb = new GraphBuilder([inC, 9, 9]);
        t["s.weight"] = Tensor.Randn(rng, 0.4f, stored, inC, 3, 3); t["s.bias"] = Tensor.Randn(rng, 0.1f, stored);
        var n = new GraphNode();
        int[]? order = kind.Contains("-order", StringComparison.Ordinal) ? Permutation(outC, rng) : null;
        SharedConvAttrs.WriteTo(n, sharing, order, new ConvAttrs(1, 1, 1, 1, 1, 1, 1), group ? Permutation(inC, rng) : null);
        var x = gb.Add("s", StructuredOps.SharedConv, [gb.Graph.Input], new() { ["weight"] = "s.weight", ["bias"] = "s.bias" }, n.Attrs);
        x = gb.Add("r", "relu", [x]);
        return (gb.Finish(gb.Add("pool", "global_avgpool2d", [x])), t);
    }

    private static int[] Permutation(int n, Rng rng)
    {
        var p = Enumerable.Range(0, n).ToArray();
        for (int i = n - 1; i > 0; i--) { int j = (int)(rng.NextUInt64() % (ulong)(i + 1)); (p[i], p[j]) = (p[j], p[i]); }
        return p;
    }

    public static IEnumerable<object[]> Kinds => new[] { "circulant", "circulant-signs", "negation-order", "p4", "p4m-order", "p4m-order-group" }.Select(k => new object[] { k });

    [Fact]
    public void CirculantLayerGradientsMatchFiniteDifferences()
    {   // the layer itself: 11 inputs padded to 12, 7 of 8 outputs, random signs; its own parameters perturbed in place
        var layer = new CirculantLinear(11, 7, 4, signSeed: 3, bias: true);
        var rng = new Rng(11);
        layer.Weight.Span.Fill(0); Tensor.Randn(rng, 0.5f, 2, 3, 4).Span.CopyTo(layer.Weight.Span);
        Tensor.Randn(rng, 0.5f, 7).Span.CopyTo(layer.Bias!.Span);
        var x = Tensor.Randn(rng, 1f, 2, 11);
        x.RequiresGrad = true;
        var r = GradCheck.Check(inp => layer.Forward(inp[0]), [x, layer.Weight, layer.Bias]);
        Assert.True(r.Ok, r.Where);
    }

    [Fact]
    public void CirculantLayerForwardIsItsExplicitMatrix()
    {
        var (graph, tensors) = Sample("circulant-signs");
        var model = GraphLayers.FromTensors(graph, tensors);
        var c = (CirculantLinear)model.Layer("c")!;
        var x = Tensor.Randn(new Rng(3), 1f, 5, 37);
        var a = CirculantAttrs.Of(graph.Nodes[0], tensors["c.weight"].Shape, [37]);
        var dense = new Tensor(StructuredLowering.Dense(a, tensors["c.weight"].Span), 21, 37);
        var want = Ops.Add(Ops.Linear(x, dense, null), tensors["c.bias"]);
        var got = Forward(c, x);
        Assert.Equal([5, 21], got.Shape);
        Assert.True(MaxAbsDiff(got.Span, want.Span) < 1e-5f, $"{MaxAbsDiff(got.Span, want.Span)}");
    }

    [Theory]
    [InlineData("p4")]
    [InlineData("p4m")]
    public void GroupSharedConvIsExactlyEquivariant(string group)
    {   // integer inputs and weights: every sum is exact, so the check is bit for bit
        var sharing = SharedFilterMap.Parse(group);
        int order = SharedFilterMap.Multiplicity(sharing), stored = 2, size = 7;
        var layer = new SharedConv2d(stored, 3, 3, sharing, null, new ConvAttrs(1, 1, 1, 1, 1, 1, 1), bias: true);
        var rng = new Rng(5);
        Integers(layer.Weight, rng, 3); Integers(layer.Bias!, rng, 2);
        var x = new Tensor(1, 3, size, size); Integers(x, rng, 4);
        var y = Forward(layer, x);
        for (int u = 1; u < order; u++)
        {
            var yu = Forward(layer, Transform(x, u));
            for (int o = 0; o < stored; o++)
                for (int gi = 0; gi < order; gi++)
                {   // y'[o, g] = T_u(y[o, u^-1 g])
                    int src = o * order + FilterGroupTransforms.Compose(FilterGroupTransforms.Inverse(u), gi);
                    var want = Transform(Ops.Narrow(y, 1, src, 1), u);
                    Assert.Equal(want.ToArray(), Ops.Narrow(yu, 1, o * order + gi, 1).ToArray());
                }
        }
    }

    [Theory]
    [InlineData("p4")]
    [InlineData("p4m")]
    public void TwoStackedGroupConvsWithOrdersAreExactlyEquivariant(string group)
    {   // layer 1 lifts the image to orbits (random output order); layer 2 is a group convolution on them (input_order =
        // layer 1's order, own random order): rotating / mirroring the input transforms each output map and permutes
        // each output orbit, y'[o, g] = T_u(y[o, u^-1 g]), bit for bit (integers)
        var sharing = SharedFilterMap.Parse(group);
        int g = SharedFilterMap.Multiplicity(sharing), size = 7;
        var rng = new Rng(13);
        var order1 = Permutation(2 * g, rng);
        var order2 = Permutation(3 * g, rng);
        var conv = new ConvAttrs(1, 1, 1, 1, 1, 1, 1);
        var l1 = new SharedConv2d(2, 3, 3, sharing, order1, conv, bias: true);
        var l2 = new SharedConv2d(3, 2 * g, 3, sharing, order2, conv, bias: true, inputOrder: order1);
        Integers(l1.Weight, rng, 2); Integers(l1.Bias!, rng, 2); Integers(l2.Weight, rng, 1); Integers(l2.Bias!, rng, 2);
        Tensor Net(Tensor x) => Forward(l2, Ops.Relu(Forward(l1, x)));
        var x = new Tensor(1, 3, size, size); Integers(x, rng, 3);
        var y = Net(x);
        int Channel(int o, int e) => Array.IndexOf(order2, o * g + e);
        Assert.NotEqual(Ops.Narrow(y, 1, Channel(0, 0), 1).ToArray(), Ops.Narrow(y, 1, Channel(0, 1), 1).ToArray());
        // the plain (spatial-only) form of layer 2 is not equivariant here: the check is not vacuous
        var plain = new SharedConv2d(3, 2 * g, 3, sharing, order2, conv, bias: true);
        l2.Weight.Span.CopyTo(plain.Weight.Span); l2.Bias!.Span.CopyTo(plain.Bias!.Span);
        bool plainEquivariant = true;
        for (int u = 1; u < g; u++)
        {
            var yu = Net(Transform(x, u));
            var pu = Forward(plain, Ops.Relu(Forward(l1, Transform(x, u))));
            var p = Forward(plain, Ops.Relu(Forward(l1, x)));
            for (int o = 0; o < 3; o++)
                for (int e = 0; e < g; e++)
                {
                    int src = Channel(o, FilterGroupTransforms.Compose(FilterGroupTransforms.Inverse(u), e));
                    Assert.Equal(Transform(Ops.Narrow(y, 1, src, 1), u).ToArray(), Ops.Narrow(yu, 1, Channel(o, e), 1).ToArray());
                    plainEquivariant &= Transform(Ops.Narrow(p, 1, src, 1), u).ToArray().SequenceEqual(Ops.Narrow(pu, 1, Channel(o, e), 1).ToArray());
                }
        }
        Assert.False(plainEquivariant);
    }

    [Fact]
    public void NegationSharedConvOutputsAreExactNegations()
    {
        var order = new[] { 3, 0, 4, 1, 5, 2 };
        var layer = new SharedConv2d(3, 2, 3, FilterSharing.Negation, order, new ConvAttrs(1, 1, 1, 1, 1, 1, 1), bias: true);
        var rng = new Rng(9);
        Integers(layer.Weight, rng, 3); Integers(layer.Bias!, rng, 2);
        var x = new Tensor(2, 2, 6, 6); Integers(x, rng, 4);
        var y = Forward(layer, x);
        for (int o = 0; o < 6; o++)
        {   // expanded filter e < 3 is W[e], e >= 3 is -W[e - 3]; channel o is expanded filter order[o]
            int partner = Array.IndexOf(order, (order[o] + 3) % 6);
            Assert.Equal(Ops.Neg(Ops.Narrow(y, 1, o, 1)).ToArray(), Ops.Narrow(y, 1, partner, 1).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void TrainerRuntimeDszAndOnnxRuntimeAgree(string kind)
    {
        var (graph, tensors) = Sample(kind);
        var model = GraphLayers.FromTensors(graph, tensors);
        using var dir = new TempDir();
        var dsz = dir.File(kind + ".dsz");
        ModelIO.WriteDsz(dsz, model, (_, v) => DenseCodec.EncodeF32(v.ContiguousData().Span, v.Shape), new Dictionary<string, string>());
        var file = DszFile.Read(dsz);
        // the stored form is the layer's own (vectors / stored filters), decoded bit for bit
        foreach (var (name, value) in model.StateDict())
            Assert.Equal(value.ContiguousData().ToArray(), file[name].Decode().ToArray());
        var stored = kind.StartsWith("circulant", StringComparison.Ordinal) ? "c.weight" : "s.weight";
        Assert.Equal(tensors[stored].Shape, file[stored].Shape.ToArray());
        var runtime = InferenceModel.Load(file);
        // 16-point blocks are below the FFT crossover: the runtime expands them to the dense matrix unless told not to
        var fftRuntime = InferenceModel.Load(file, new RuntimeOptions { CirculantFftMinBlock = 1 });
        var reloaded = ModelIO.LoadDsz(file).Model;
        var onnx = dir.File(kind + ".onnx");
        File.WriteAllBytes(onnx, OnnxExporter.Build(graph, tensors).ToByteArray());
        using var ort = new OnnxSession(onnx, threads: 1);
        var rng = new Rng(17);
        foreach (int batch in new[] { 1, 4 })
        {
            var x = Tensor.Randn(rng, 1f, [batch, .. graph.InputShape]);
            var trained = OnnxTestUtil.Forward(model, x);
            Assert.Equal(trained.ToArray(), OnnxTestUtil.Forward(reloaded, x).ToArray());
            var ours = runtime.Forward(x);
            if (kind.StartsWith("circulant", StringComparison.Ordinal))
            {
                Assert.Equal(trained.ToArray(), fftRuntime.Forward(x).ToArray()); // same FFT kernels: bit for bit
                Assert.True(MaxAbsDiff(trained.Span, ours.Span) <= 1e-5f, $"{kind}: dense-expanded runtime vs trainer {MaxAbsDiff(trained.Span, ours.Span)}");
                Assert.Contains(runtime.Profile(x.Span, batch, 1), st => st.Name == "c" && st.Op == "linear");
                Assert.Contains(fftRuntime.Profile(x.Span, batch, 1), st => st.Name == "c" && st.Detail.StartsWith("fft", StringComparison.Ordinal));
            }
            else
                Assert.True(MaxAbsDiff(trained.Span, ours.Span) <= 1e-5f, $"{kind}: runtime vs trainer {MaxAbsDiff(trained.Span, ours.Span)}");
            var (got, shape) = ort.Run(x.Span.ToArray(), batch);
            Assert.Equal(ours.Shape, shape);
            Assert.True(MaxAbsDiff(ours.Span, got) <= 1e-4f, $"{kind}: ONNX Runtime vs ours {MaxAbsDiff(ours.Span, got)}");
        }
        var ops = OnnxExporter.Build(graph, tensors).Graph.Node.Select(n => n.OpType).ToList();
        Assert.Contains(kind.StartsWith("circulant", StringComparison.Ordinal) ? "Gemm" : "Conv", ops);
    }

    [Fact]
    public void CirculantProjectionRecoversACirculantWeight()
    {
        var (graph, tensors) = Sample("circulant-signs");
        var a = CirculantAttrs.Of(graph.Nodes[0], tensors["c.weight"].Shape, [37]);
        var dense = new Tensor(StructuredLowering.Dense(a, tensors["c.weight"].Span), 21, 37);
        var back = CirculantProjection.ProjectPadded(dense, a.Shape, a.Signs());
        // vector entries that no real matrix entry uses (diagonals wholly in the padding) are unobservable: compare the matrices
        Assert.True(MaxAbsDiff(StructuredLowering.Dense(a, back.Span), dense.Span) < 1e-6f);
        var noise = Tensor.Randn(new Rng(2), 1f, 21, 37);
        var projected = StructuredLowering.Dense(a, CirculantProjection.ProjectPadded(Ops.Add(dense, noise), a.Shape, a.Signs()).Span);
        Assert.True(Norm(Ops.Sub(new Tensor(projected, 21, 37), dense)) < Norm(noise), "the projection moves a noisy circulant matrix back towards it");
    }

    [Theory]
    [InlineData("negation")]
    [InlineData("p4")]
    [InlineData("p4m")]
    public void FilterMatchingRecoversShuffledSharedFilters(string group)
    {   // a weight that is exactly an expansion in a random channel order is matched back to itself
        var sharing = SharedFilterMap.Parse(group);
        var rng = new Rng(21);
        int stored = 4, g = SharedFilterMap.Multiplicity(sharing);
        var w = Tensor.Randn(rng, 1f, stored, 3, 3, 3);
        var b = Tensor.Randn(rng, 1f, stored);
        var perm = Permutation(stored * g, rng);
        var full = new Tensor(SharedFilterMap.Weight(stored, 3, 3, sharing, perm).Apply(w.Span), stored * g, 3, 3, 3);
        var fullBias = new Tensor(SharedFilterMap.Bias(stored, sharing, perm).Apply(b.Span), stored * g);
        var (order, sw, sb) = FilterMatching.Match(full, fullBias, sharing);
        var again = SharedFilterMap.Weight(stored, 3, 3, sharing, order).Apply(sw.Span);
        Assert.True(MaxAbsDiff(again, full.Span) < 1e-5f);
        Assert.True(MaxAbsDiff(SharedFilterMap.Bias(stored, sharing, order).Apply(sb!.Span), fullBias.Span) < 1e-5f);
    }

    [Theory]
    [InlineData("p4")]
    [InlineData("p4m")]
    public void FilterMatchingRecoversShuffledGroupConvFilters(string group)
    {   // the same for a group convolution whose input orbits come in a random order
        var sharing = SharedFilterMap.Parse(group);
        var rng = new Rng(23);
        int stored = 4, g = SharedFilterMap.Multiplicity(sharing), inC = 2 * g;
        var w = Tensor.Randn(rng, 1f, stored, inC, 3, 3);
        var perm = Permutation(stored * g, rng);
        var inputOrder = Permutation(inC, rng);
        var full = new Tensor(SharedFilterMap.Weight(stored, inC, 3, sharing, perm, inputOrder).Apply(w.Span), stored * g, inC, 3, 3);
        var (order, sw, _) = FilterMatching.Match(full, null, sharing, inputOrder);
        Assert.True(MaxAbsDiff(SharedFilterMap.Weight(stored, inC, 3, sharing, order, inputOrder).Apply(sw.Span), full.Span) < 1e-5f);
        // matched as a plain (spatial-only) layer, the same weight is not an exact expansion
        var (order2, sw2, _) = FilterMatching.Match(full, null, sharing);
        Assert.True(MaxAbsDiff(SharedFilterMap.Weight(stored, inC, 3, sharing, order2).Apply(sw2.Span), full.Span) > 1e-2f);
    }

    [Fact]
    public void DepthwiseSeparableFitIsExactForASeparableWeight()
    {
        var rng = new Rng(4);
        var d = Tensor.Randn(rng, 1f, 5, 1, 3, 3);
        var p = Tensor.Randn(rng, 1f, 6, 5, 1, 1);
        var w = new float[6 * 5 * 9];
        for (int o = 0; o < 6; o++) for (int c = 0; c < 5; c++) for (int k = 0; k < 9; k++) w[(o * 5 + c) * 9 + k] = p.Span[o * 5 + c] * d.Span[c * 9 + k];
        var (dw, pw) = CompactFilters.DepthwiseSeparable(new Tensor(w, 6, 5, 3, 3));
        var x = Tensor.Randn(rng, 1f, 2, 5, 8, 8);
        var want = Ops.Conv2d(x, new Tensor(w, 6, 5, 3, 3), null, 1, 1);
        var got = Ops.Conv2d(Ops.Conv2d(x, dw, null, 1, 1, 1, 5), pw, null);
        Assert.True(MaxAbsDiff(want.Span, got.Span) < 1e-4f, $"{MaxAbsDiff(want.Span, got.Span)}");
    }

    [Fact]
    public void FireFitIsExactForALowRankWeightOnConstantInput()
    {   // W = E S with rank-2 input mode: the squeeze to 2 channels loses nothing; 3x3 half exact anywhere,
        // 1x1 half exact on a locally constant image
        var rng = new Rng(8);
        var s = Tensor.Randn(rng, 1f, 2, 6);
        var e = Tensor.Randn(rng, 1f, 4, 2, 3, 3);
        var w = new float[4 * 6 * 9];
        for (int o = 0; o < 4; o++) for (int c = 0; c < 6; c++) for (int k = 0; k < 9; k++)
                    for (int r = 0; r < 2; r++) w[(o * 6 + c) * 9 + k] += e.Span[(o * 2 + r) * 9 + k] * s.Span[r * 6 + c];
        var weight = new Tensor(w, 4, 6, 3, 3);
        var (sq, e1, e3) = CompactFilters.Fire(weight, 2, 2);
        var x = Tensor.Full(0.5f, 1, 6, 5, 5);
        var want = Ops.Conv2d(x, weight, null, 1, 0);
        var z = Ops.Conv2d(x, sq, null);
        var y1 = Ops.Narrow(Ops.Narrow(Ops.Conv2d(z, e1, null), 2, 1, 3), 3, 1, 3);
        var got = Ops.Concat(1, y1, Ops.Conv2d(z, e3, null, 1, 0));
        Assert.True(MaxAbsDiff(want.Span, got.Span) < 1e-4f, $"{MaxAbsDiff(want.Span, got.Span)}");
    }

    [Theory]
    [InlineData("vgg-small-dws")]
    [InlineData("vgg-small-fire")]
    public void CompactZooStudentsAreSmallerAndRunInTheRuntime(string arch)
    {
        var student = Create(arch, 3);
        var teacher = Create("vgg-small", 3);
        // the replaced layers: every conv but the first
        long Params(Module m) => m.StateDict().Where(kv => kv.Key.StartsWith("conv", StringComparison.Ordinal) && !kv.Key.StartsWith("conv1.", StringComparison.Ordinal)).Sum(kv => (long)kv.Value.Size);
        Assert.True(Params(student) * 2 < Params(teacher), $"{arch}: {Params(student)} vs {Params(teacher)} conv parameters");
        var x = Tensor.Randn(new Rng(6), 1f, 2, 1, 28, 28);
        var want = OnnxTestUtil.Forward(student, x);
        var state = student.StateDict().ToDictionary(kv => kv.Key, kv => DenseCodec.EncodeF32(kv.Value.ContiguousData().Span, kv.Value.Shape));
        var got = InferenceModel.Load(student.ToGraph(), n => state.GetValueOrDefault(n)).Forward(x);
        Assert.True(MaxAbsDiff(want.Span, got.Span) < 1e-3f, $"{MaxAbsDiff(want.Span, got.Span)}");
    }

    private static Tensor Forward(Module m, Tensor x)
    {
        using var _ = Engine.NoGrad();
        return m.Forward(x);
    }

    private static double Norm(Tensor t) => Math.Sqrt(t.ToArray().Sum(v => (double)v * v));

    private static void Integers(Tensor t, Rng rng, int range)
    {
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (int)(rng.NextUInt64() % (ulong)(2 * range + 1)) - range;
    }

    /// <summary>Group element u applied to every k x k map of x [N, C, k, k] (same convention as the filters).</summary>
    private static Tensor Transform(Tensor x, int u)
    {
        int n = x.Shape[0], c = x.Shape[1], k = x.Shape[2];
        var src = FilterGroupTransforms.SpatialSource(k, u);
        var xs = x.ContiguousData().ToArray();
        var y = new float[xs.Length];
        for (int m = 0; m < n * c; m++) for (int i = 0; i < k * k; i++) y[m * k * k + i] = xs[m * k * k + src[i]];
        return new Tensor(y, n, c, k, k);
    }
}

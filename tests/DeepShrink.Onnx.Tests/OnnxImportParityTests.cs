using DeepShrink.Core;
using DeepShrink.Onnx.Import;
using Google.Protobuf;
using Onnx;
using static DeepShrink.Onnx.Tests.OnnxModelBuilder;

namespace DeepShrink.Onnx.Tests;

/// <summary>Every supported operator on small generated models: import, run in our runtime, compare with ONNX Runtime on the same file.</summary>
public class OnnxImportParityTests
{
    /// <summary>Imports <paramref name="model"/>, runs 3 seeded inputs through both engines and asserts they agree.</summary>
    internal static ImportedModel Check(ModelProto model, OnnxImportOptions? options = null, float tol = 1e-4f)
    {
        using var dir = new TempDir();
        var path = dir.File("m.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        var m = OnnxImporter.Import(path, options);
        var x = DeepShrink.Core.Tensor.Randn(new Rng(11), 1f, [3, .. m.Graph.InputShape]);
        var p = OnnxParity.Compare(m, path, x.Span, 3, threads: 1);
        Assert.True(p.MaxAbsDiff <= tol * Math.Max(1, p.MaxAbsReference), $"max |diff| {p.MaxAbsDiff} (outputs up to {p.MaxAbsReference})");
        Assert.True(p.MinCosine > 0.99999, $"cosine {p.MinCosine}");
        return m;
    }

    private static string[] Ops(ImportedModel m) => m.Graph.Nodes.Select(n => n.Op).ToArray();

    [Theory]
    [InlineData(7, new long[] { 1, 2, 1, 2 }, 2, 1, 2, 3, 2, false)]   // groups, dilation along H, rectangular stride
    [InlineData(11, new long[] { 0, 1, 2, 0 }, 1, 1, 1, 1, 1, true)]   // asymmetric, leading pad smaller: pad node
    [InlineData(13, new long[] { 3, 3, 2, 2 }, 1, 1, 2, 2, 1, false)]  // ResNet18 stem: larger leading pad used on both sides
    [InlineData(21, new long[] { 1, 0, 0, 1 }, 1, 2, 1, 1, 4, true)]   // depthwise, dilation along W
    public void Conv_PadsGroupsDilations(int opset, long[] pads, int dh, int dw, int sh, int sw, int group, bool padNode)
    {
        var b = new OnnxModelBuilder(opset, 1, [4, 10, 10]);
        var w = b.Init([8, 4 / group, 3, 3]);
        var y = b.Node("Conv", ["x", w, b.Init([8])], Ints("pads", pads), Ints("dilations", dh, dw), Ints("strides", sh, sw), Int("group", group), Ints("kernel_shape", 3, 3));
        var m = Check(b.Build(y));
        Assert.Contains("conv2d", Ops(m));
        Assert.Equal(padNode, Ops(m).Contains("pad"));
    }

    [Theory]
    [InlineData("SAME_UPPER", 2)]
    [InlineData("SAME_LOWER", 2)]
    [InlineData("SAME_UPPER", 1)]
    [InlineData("VALID", 2)]
    public void Conv_AutoPad(string autoPad, int stride)
    {
        var b = new OnnxModelBuilder(9, null, [3, 9, 8]);
        var y = b.Node("Conv", ["x", b.Init([5, 3, 4, 3])], Str("auto_pad", autoPad), Ints("strides", stride, stride));
        var m = Check(b.Build(y));
        int[] expected = autoPad == "VALID" ? [5, (9 - 4) / stride + 1, (8 - 3) / stride + 1] : [5, (9 + stride - 1) / stride, (8 + stride - 1) / stride];
        Assert.Equal(expected, DeepShrink.Core.Graph.GraphAnalysis.OutputShape(m.Graph, m.ParamShape));
    }

    [Theory]
    [InlineData(7)]
    [InlineData(9)]
    [InlineData(15)]
    public void BatchNorm_Relu_Versions(int opset)
    {
        var b = new OnnxModelBuilder(opset, 1, [4, 5, 5]);
        var attrs = opset < 9 ? new[] { Float("epsilon", 1e-3f), Int("spatial", 1) } : [Float("epsilon", 1e-3f)];
        var bn = b.Node("BatchNormalization", ["x", b.Init([4], 0.5f, 2), b.Init([4]), b.Init([4]), b.Init([4], 0.2f, 3)], attrs);
        var m = Check(b.Build(b.Node("Relu", [bn])));
        Assert.Equal(["batchnorm", "relu"], Ops(m));
        Assert.Equal(1e-3, m.Graph.Nodes[0].Number("eps", 0), 6);
    }

    [Theory]
    [InlineData("LeakyRelu", 13)]
    [InlineData("Sigmoid", 13)]
    [InlineData("Tanh", 7)]
    [InlineData("HardSigmoid", 7)]
    [InlineData("HardSwish", 14)]
    [InlineData("Dropout", 7)]
    [InlineData("Identity", 16)]
    public void Activations(string op, int opset)
    {
        var b = new OnnxModelBuilder(opset, null, [3, 4, 4]);
        var attrs = op switch { "LeakyRelu" => [Float("alpha", 0.2f)], "HardSigmoid" => [Float("alpha", 0.3f), Float("beta", 0.4f)], _ => Array.Empty<AttributeProto>() };
        var y = b.Node(op, ["x"], attrs);
        var m = Check(b.Build(b.Node("Mul", [y, b.Init([3, 1, 1], 0.5f, 2)])));
        Assert.Equal(op is "Dropout" or "Identity" ? 1 : 2, m.Graph.Nodes.Count);
    }

    [Theory]
    [InlineData(7, -0.5f, 0.5f)]
    [InlineData(7, 0f, float.NaN)]
    [InlineData(13, -0.25f, float.NaN)]
    [InlineData(13, 0f, 0.6f)]
    public void Clip_AttributesThenInputs(int opset, float lo, float hi)
    {
        var b = new OnnxModelBuilder(opset, 1, [2, 3, 3]);
        string y;
        if (opset < 11)
            y = b.Node("Clip", ["x"], float.IsNaN(hi) ? [Float("min", lo)] : [Float("min", lo), Float("max", hi)]);
        else
            y = b.Node("Clip", float.IsNaN(hi) ? ["x", b.Init([], data: [lo])] : ["x", b.Init([], data: [lo]), b.Init([], data: [hi])]);
        var m = Check(b.Build(y));
        Assert.Equal(lo, m.Graph.Nodes[0].Number("min", double.NaN), 6);
        Assert.Equal(float.IsNaN(hi), !m.Graph.Nodes[0].Has("max"));
    }

    [Theory]
    [InlineData(11, 1, new[] { 6 })]
    [InlineData(11, 1, new[] { 6, 1, 1 })]
    [InlineData(12, -1, new[] { 2, 3, 5 })]
    [InlineData(13, 1, new[] { 3, 2, 2 })]
    [InlineData(13, -2, new[] { 3, 2, 4 })]
    public void Softmax_AxisSemantics(int opset, int axis, int[] sample)
    {
        var b = new OnnxModelBuilder(opset, 1, sample);
        Check(b.Build(b.Node("Softmax", ["x"], Int("axis", axis))));
    }

    [Fact]
    public void Softmax_Before13_FlatteningSeveralAxes_IsRefused()
    {
        var b = new OnnxModelBuilder(11, 1, [3, 2, 2]);
        var e = Assert.Throws<OnnxImportException>(() => OnnxImporter.Import(b.Build(b.Node("Softmax", ["x"], Int("axis", 1))).ToByteArray()));
        Assert.Contains("Softmax, opset 11", e.Message);
    }

    [Theory]
    [InlineData("MaxPool", 8, new long[] { 1, 1, 0, 0 }, 0, 0)]   // CNTK's ResNet18 pool
    [InlineData("MaxPool", 11, new long[] { 0, 0, 1, 1 }, 0, 0)]  // pad node with the lowest float
    [InlineData("MaxPool", 12, new long[] { 1, 1, 1, 1 }, 1, 0)]  // shape-neutral ceil_mode
    [InlineData("AveragePool", 7, new long[] { 1, 1, 1, 1 }, 0, 0)]
    [InlineData("AveragePool", 11, new long[] { 1, 1, 1, 1 }, 0, 1)]
    [InlineData("AveragePool", 19, new long[] { 0, 1, 1, 0 }, 0, 1)] // asymmetric, count_include_pad = 1: zero pad node
    public void Pooling(string op, int opset, long[] pads, int ceil, int includePad)
    {
        var b = new OnnxModelBuilder(opset, 1, [2, 11, 11]);
        var attrs = new List<AttributeProto> { Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", pads) };
        if (opset >= 10) attrs.Add(Int("ceil_mode", ceil));
        if (op == "AveragePool") attrs.Add(Int("count_include_pad", includePad));
        Check(b.Build(b.Node(op, ["x"], [.. attrs])));
    }

    [Fact]
    public void AveragePool_RectangularWindow()
    {
        var b = new OnnxModelBuilder(10, 1, [2, 8, 9]);
        Check(b.Build(b.Node("AveragePool", ["x"], Ints("kernel_shape", 2, 3), Ints("strides", 1, 2))));
    }

    [Fact]
    public void CeilMode_ThatChangesTheShape_IsRefused()
    {
        var b = new OnnxModelBuilder(12, 1, [2, 10, 10]);
        var e = Assert.Throws<OnnxImportException>(() => OnnxImporter.Import(b.Build(b.Node("MaxPool", ["x"], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Int("ceil_mode", 1))).ToByteArray()));
        Assert.Contains("ceil_mode", e.Message);
    }

    [Fact]
    public void FullWindowAveragePool_BecomesGlobal_WhenAsked()
    {
        var b = new OnnxModelBuilder(8, 1, [3, 7, 7]);
        var model = b.Build(b.Node("AveragePool", ["x"], Ints("kernel_shape", 7, 7), Ints("strides", 1, 1)));
        Assert.Equal("avgpool2d", Check(model).Graph.Nodes[0].Op);
        Assert.Equal("global_avgpool2d", Check(model, new OnnxImportOptions { GlobalPoolFullWindowAverage = true }).Graph.Nodes[0].Op);
    }

    [Theory]
    [InlineData(7, 1, 0.5f, 2f)]
    [InlineData(13, 0, 1f, 1f)]
    public void GlobalPool_Flatten_Gemm(int opset, int transB, float alpha, float beta)
    {
        var b = new OnnxModelBuilder(opset, null, [6, 4, 4]);
        var f = b.Node("Flatten", [b.Node("GlobalAveragePool", ["x"])], Int("axis", 1));
        var w = transB == 1 ? b.Init([5, 6]) : b.Init([6, 5]);
        var m = Check(b.Build(b.Node("Gemm", [f, w, b.Init([5])], Int("transB", transB), Float("alpha", alpha), Float("beta", beta))));
        Assert.Equal([5, 6], m.Tensors[m.Graph.Nodes[^1].Params["weight"]].Shape);
    }

    [Fact]
    public void MatMul_ThenAddBias_IsLinear()
    {
        var b = new OnnxModelBuilder(13, null, [12]);
        var m = Check(b.Build(b.Node("Add", [b.Node("MatMul", ["x", b.Init([12, 7])]), b.Init([7])])));
        Assert.Equal(["linear", "add"], Ops(m));
    }

    [Theory]
    [InlineData("Add")]
    [InlineData("Sub")]
    [InlineData("Mul")]
    [InlineData("Div")]
    public void Arithmetic_WithConstantsAndData(string op)
    {
        var b = new OnnxModelBuilder(13, 1, [3, 4, 5]);
        var perChannel = b.Node(op, ["x", b.Init([1, 3, 1, 1], 0.5f, 2)]);           // leading batch 1 dropped
        var scalar = b.Node(op, [perChannel, b.Init([], 0.5f, 2)]);
        var data = b.Node(op, [scalar, b.Node("Sigmoid", ["x"])]);                     // two data operands
        var rowConst = b.Node(op, [data, b.Init([5], 0.5f, 2)]);
        var left = op is "Add" or "Sub" or "Mul" ? b.Node(op, [b.Init([4, 1], 0.5f, 2), rowConst]) : rowConst;
        var m = Check(b.Build(left));
        Assert.Equal([3, 1, 1], m.Tensors[m.Graph.Nodes[0].Params["b"]].Shape);
    }

    [Fact]
    public void ConstantFolding_AndConstantNodes()
    {
        var b = new OnnxModelBuilder(13, 1, [2, 3, 3]);
        var c1 = b.Node("Constant", [], Tensor("value", FloatTensor("c", [2, 1, 1], [1.5f, -2f])));
        var c2 = b.Node("Constant", [], Float("value_float", 0.5f));
        var folded = b.Node("Mul", [b.Node("Sub", [c1, c2]), b.Init([2, 1, 1], data: [2f, 3f])]);
        var m = Check(b.Build(b.Node("Add", ["x", folded])));
        Assert.Single(m.Graph.Nodes);
        Assert.Equal([2f, -7.5f], m.Tensors.Values.Single().Span.ToArray());
    }

    [Fact]
    public void Sum_Concat_Residual()
    {
        var b = new OnnxModelBuilder(8, 1, [3, 6, 6]);
        var c1 = b.Node("Conv", ["x", b.Init([4, 3, 3, 3])], Ints("pads", 1, 1, 1, 1));
        var c2 = b.Node("Conv", ["x", b.Init([2, 3, 1, 1])]);
        var cat = b.Node("Concat", [c1, c2], Int("axis", 1));
        var s = b.Node("Sum", [cat, b.Node("Relu", [cat]), b.Node("Sigmoid", [cat])]);
        var m = Check(b.Build(b.Node("Add", [s, b.Node("Tanh", [s])])));
        Assert.Contains("concat", Ops(m));
        Assert.Equal(3, Ops(m).Count(o => o == "add"));
    }

    [Theory]
    [InlineData(11)]
    [InlineData(13)]
    public void PyTorchFlattenPattern_ShapeGatherUnsqueezeConcatReshape(int opset)
    {
        var b = new OnnxModelBuilder(opset, null, [3, 2, 2]);
        var conv = b.Node("Conv", ["x", b.Init([4, 3, 1, 1])]);
        var n0 = b.Node("Gather", [b.Node("Shape", [conv]), b.IntInit(0)], Int("axis", 0));
        var n0b = b.Graph.Initializer[^1];
        n0b.Dims.Clear();                                             // scalar index, as torch exports it
        var u = opset < 13 ? b.Node("Unsqueeze", [n0], Ints("axes", 0)) : b.Node("Unsqueeze", [n0, b.IntInit(0)]);
        var shape = b.Node("Concat", [u, b.IntInit(-1)], Int("axis", 0));
        var m = Check(b.Build(b.Node("Reshape", [conv, shape])));
        Assert.Equal(["conv2d", "flatten"], Ops(m));
    }

    [Fact]
    public void SqueezeUnsqueezeTransposeReshape_AreRelayouts()
    {
        var b = new OnnxModelBuilder(13, 1, [5, 3, 3]);
        var g = b.Node("GlobalAveragePool", ["x"]);
        var sq = b.Node("Squeeze", [g, b.IntInit(2, 3)]);
        var un = b.Node("Unsqueeze", [sq, b.IntInit(-1)]);
        var tr = b.Node("Transpose", [un], Ints("perm", 0, 2, 1));
        var r = b.Node("Reshape", [tr, b.IntInit(1, -1)]);
        var m = Check(b.Build(b.Node("Gemm", [r, b.Init([2, 5]), b.Init([2])], Int("transB", 1))));
        Assert.Equal("global_avgpool2d", Ops(m)[0]);
        Assert.Equal("linear", Ops(m)[^1]);
    }

    [Fact]
    public void Transpose_ThatMovesData_IsRefused()
    {
        var b = new OnnxModelBuilder(13, 1, [2, 3, 3]);
        var e = Assert.Throws<OnnxImportException>(() => OnnxImporter.Import(b.Build(b.Node("Transpose", ["x"], Ints("perm", 0, 2, 3, 1))).ToByteArray()));
        Assert.Contains("Transpose", e.Message);
    }

    [Fact]
    public void NodesOutOfOrder_AreSorted()
    {
        var b = new OnnxModelBuilder(13, 1, [2, 4, 4]);
        var y = b.Node("Sigmoid", [b.Node("Relu", [b.Node("Add", ["x", b.Init([2, 1, 1])])])]);
        var nodes = b.Graph.Node.Reverse().ToArray();
        b.Graph.Node.Clear();
        b.Graph.Node.AddRange(nodes);
        Assert.Equal(["add", "relu", "sigmoid"], Ops(Check(b.Build(y))));
    }

    [Theory]
    [InlineData(7)]
    [InlineData(11)]
    [InlineData(18)]
    public void Pad_AttributesThenInputs(int opset)
    {
        var b = new OnnxModelBuilder(opset, 1, [2, 4, 5]);
        string y = opset switch
        {
            < 11 => b.Node("Pad", ["x"], Ints("pads", 0, 0, 1, 2, 0, 0, 3, 0), Float("value", 0.5f)),
            < 18 => b.Node("Pad", ["x", b.IntInit(0, 0, 1, 2, 0, 0, 3, 0), b.Init([], data: [0.5f])]),
            _ => b.Node("Pad", ["x", b.IntInit(1, 2, 3, 0), b.Init([], data: [0.5f]), b.IntInit(2, 3)]),
        };
        var m = Check(b.Build(y));
        Assert.Equal([1, 2, 3, 0], m.Graph.Nodes[0].Ints("pads")!);
    }
}

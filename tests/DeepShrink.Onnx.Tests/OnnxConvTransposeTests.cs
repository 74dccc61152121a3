using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Nn;
using DeepShrink.Onnx.Import;
using Google.Protobuf;
using Onnx;
using static DeepShrink.Onnx.Tests.OnnxModelBuilder;

namespace DeepShrink.Onnx.Tests;

/// <summary>
/// ConvTranspose: import, our runtime against ONNX Runtime on the file, the trainable graph module against the
/// runtime, export back to ONNX ConvTranspose against ONNX Runtime, training, and one-line refusals.
/// </summary>
public class OnnxConvTransposeTests
{
    /// <summary>Attributes of one case: pads (null: absent), strides, dilations, output_padding (null: absent), group, auto_pad, output_shape.</summary>
    public sealed record Case(string Name, int Opset, int C, int H, int W, int O, int KH, int KW, long[]? Pads = null, long[]? Strides = null,
        long[]? Dilations = null, long[]? OutputPadding = null, int Group = 1, string? AutoPad = null, long[]? OutputShape = null, bool Bias = true,
        bool KernelShape = true)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases => new(
        new Case("stride2", 11, 3, 5, 4, 4, 3, 3, Pads: [1, 1, 1, 1], Strides: [2, 2]),
        new Case("stride2-outpad", 13, 2, 4, 5, 3, 3, 3, Pads: [1, 1, 1, 1], Strides: [2, 2], OutputPadding: [1, 1]),
        new Case("asym-pads", 11, 2, 4, 4, 3, 3, 3, Pads: [0, 2, 1, 0], Strides: [2, 1]),
        new Case("asym-pads-outpad-groups", 21, 4, 3, 5, 6, 3, 2, Pads: [2, 0, 0, 1], Strides: [3, 2], OutputPadding: [2, 1], Group: 2),
        new Case("depthwise-dilated", 7, 3, 4, 4, 3, 3, 3, Pads: [1, 2, 1, 2], Dilations: [2, 3], Group: 3, Bias: false),
        new Case("dilated-stride-outpad", 9, 2, 3, 4, 2, 2, 3, Strides: [3, 3], Dilations: [3, 2], OutputPadding: [2, 1]),
        new Case("no-kernel-shape", 16, 2, 3, 3, 5, 4, 4, Strides: [2, 2], KernelShape: false),
        new Case("same-upper", 11, 2, 4, 3, 3, 4, 3, Strides: [2, 2], AutoPad: "SAME_UPPER"),
        new Case("same-lower", 13, 2, 4, 3, 3, 4, 3, Strides: [2, 2], AutoPad: "SAME_LOWER"),
        new Case("valid", 11, 2, 3, 3, 2, 3, 3, Strides: [2, 2], AutoPad: "VALID"),
        new Case("output-shape", 11, 2, 4, 4, 3, 3, 3, Strides: [2, 2], OutputShape: [8, 7]),
        new Case("output-shape-outpad-same-upper", 13, 2, 4, 4, 2, 3, 3, Strides: [2, 2], OutputPadding: [1, 1], AutoPad: "SAME_UPPER", OutputShape: [8, 9]));

    internal static ModelProto Build(Case c, out OnnxModelBuilder b)
    {
        b = new OnnxModelBuilder(c.Opset, null, [c.C, c.H, c.W], seed: 13);
        var attrs = new List<AttributeProto>();
        if (c.Pads is not null) attrs.Add(Ints("pads", c.Pads));
        if (c.Strides is not null) attrs.Add(Ints("strides", c.Strides));
        if (c.Dilations is not null) attrs.Add(Ints("dilations", c.Dilations));
        if (c.OutputPadding is not null) attrs.Add(Ints("output_padding", c.OutputPadding));
        if (c.Group != 1) attrs.Add(Int("group", c.Group));
        if (c.AutoPad is not null) attrs.Add(Str("auto_pad", c.AutoPad));
        if (c.OutputShape is not null) attrs.Add(Ints("output_shape", c.OutputShape));
        if (c.KernelShape) attrs.Add(Ints("kernel_shape", c.KH, c.KW));
        var w = b.Init([c.C, c.O / c.Group, c.KH, c.KW]);
        string[] inputs = c.Bias ? ["x", w, b.Init([c.O])] : ["x", w];
        var y = b.Node("ConvTranspose", inputs, attrs.ToArray());
        return b.Build(b.Node("Relu", [y]));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Import_MatchesOnnxRuntime_TrainsAndExportsBack(Case c)
    {
        var model = Build(c, out _);
        var m = OnnxImportParityTests.Check(model);
        var node = Assert.Single(m.Graph.Nodes, n => n.Op == "conv_transpose2d");
        if (c.OutputShape is not null)
            Assert.Equal(c.OutputShape[^2..].Select(v => (int)v).ToArray(), DeepShrink.Core.Graph.GraphAnalysis.OutputShape(m.Graph, m.ParamShape)[1..].ToArray());
        else if (c.AutoPad is "SAME_UPPER" or "SAME_LOWER")
            Assert.Equal(new long[] { c.H * c.Strides![0], c.W * c.Strides[1] }.Select(v => (int)v).ToArray(), DeepShrink.Core.Graph.GraphAnalysis.OutputShape(m.Graph, m.ParamShape)[1..].ToArray());
        Assert.Equal("relu", m.Graph.Nodes[^1].Op);

        // the trainable graph module computes what the runtime computes
        var x = DeepShrink.Core.Tensor.Randn(new Rng(3), 1f, [5, .. m.Graph.InputShape]);
        var module = GraphLayers.FromTensors(m.Graph, m.Tensors);
        var trained = OnnxTestUtil.Forward(module, x);
        var run = OnnxParity.Load(m).Forward(x);
        Assert.True(trained.MaxAbsDiff(run) <= 1e-4f, $"graph module vs runtime: {trained.MaxAbsDiff(run)}");

        // export back: ConvTranspose again, ONNX Runtime on the exported file agrees with our runtime
        using var dir = new TempDir();
        var exported = dir.File("back.onnx");
        File.WriteAllBytes(exported, OnnxExporter.Build(m.Graph, m.Tensors).ToByteArray());
        var back = ModelProto.Parser.ParseFrom(File.ReadAllBytes(exported));
        var ct = Assert.Single(back.Graph.Node, n => n.OpType == "ConvTranspose");
        Assert.Equal(node.Name, ct.Name);
        var p = OnnxParity.Compare(m, exported, x.Span, 5, threads: 1);
        Assert.True(p.MaxAbsDiff <= 1e-4 * Math.Max(1, p.MaxAbsReference), $"exported file: max |diff| {p.MaxAbsDiff}");
    }

    [Fact]
    public void ImportedGraph_Trains()
    {
        // a conv -> relu -> conv_transpose "autoencoder" learns to reproduce its input: the loss falls by half
        var b = new OnnxModelBuilder(13, null, [2, 6, 6], seed: 21);
        var h = b.Node("Relu", [b.Node("Conv", ["x", b.Init([4, 2, 3, 3], -0.3f, 0.3f), b.Init([4], -0.1f, 0.1f)], Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1))]);
        var y = b.Node("ConvTranspose", [h, b.Init([4, 2, 3, 3], -0.3f, 0.3f), b.Init([2], -0.1f, 0.1f)], Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1), Ints("output_padding", 1, 1));
        using var dir = new TempDir();
        var path = dir.File("ae.onnx");
        File.WriteAllBytes(path, b.Build(y).ToByteArray());
        var m = OnnxImporter.Import(path);
        var module = GraphLayers.FromTensors(m.Graph, m.Tensors);
        module.Train();
        var x = DeepShrink.Core.Tensor.Randn(new Rng(8), 1f, [16, 2, 6, 6]);
        var opt = new DeepShrink.Nn.Optim.Adam(module.NamedParameters(), lr: 0.02f);
        float first = 0, last = 0;
        for (int step = 0; step < 60; step++)
        {
            opt.ZeroGrad();
            var loss = Ops.Mse(module.Forward(x), x);
            loss.Backward();
            opt.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        Assert.True(last < 0.5f * first, $"loss {first} -> {last}");
        var wName = m.Graph.Nodes.Single(n => n.Op == "conv_transpose2d").Params["weight"];
        Assert.True(module.StateDict()[wName].MaxAbsDiff(m.Tensors[wName]) > 1e-3f, "the conv_transpose2d weight did not move");
    }

    [Theory]
    [InlineData("conv1d")]
    [InlineData("output-shape-too-big")]
    [InlineData("bad-weight")]
    [InlineData("pads-eat-output")]
    [InlineData("output-padding-at-stride")]
    [InlineData("output-shape-rank")]
    [InlineData("huge-full-output")]
    public void Unsupported_IsOneLineNamingNodeAndOpset(string what)
    {
        var b = new OnnxModelBuilder(11, 1, what == "conv1d" ? [2, 5] : [2, 4, 4]);
        string y = what switch
        {
            "conv1d" => b.Node("ConvTranspose", ["x", b.Init([2, 3, 3])]),
            "output-shape-too-big" => b.Node("ConvTranspose", ["x", b.Init([2, 3, 3, 3])], Ints("strides", 2, 2), Ints("output_shape", 12, 12)),
            "bad-weight" => b.Node("ConvTranspose", ["x", b.Init([3, 3, 3, 3])]),
            "output-padding-at-stride" => b.Node("ConvTranspose", ["x", b.Init([2, 3, 3, 3])], Ints("strides", 2, 2), Ints("output_padding", 2, 0)),
            "huge-full-output" => b.Node("ConvTranspose", ["x", b.Init([2, 3, 1, 1])], Ints("strides", 40000, 40000), Ints("pads", 60000, 60000, 60000, 60000)),
            "output-shape-rank" => b.Node("ConvTranspose", ["x", b.Init([2, 3, 3, 3])], Ints("output_shape", 1, 3, 6, 6)),
            _ => b.Node("ConvTranspose", ["x", b.Init([2, 3, 3, 3])], Ints("pads", 3, 0, 3, 0)),
        };
        using var dir = new TempDir();
        var path = dir.File("bad.onnx");
        File.WriteAllBytes(path, b.Build(y).ToByteArray());
        var e = Assert.Throws<OnnxImportException>(() => OnnxImporter.Import(path));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("(ConvTranspose, opset 11)", e.Message);
    }
}

using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using DeepShrink.Runtime;
using DeepShrink.Tests.Shared;
using Google.Protobuf;
using static DeepShrink.Onnx.Tests.OnnxTestUtil;

namespace DeepShrink.Onnx.Tests;

/// <summary>Every graph-v2 op exported to ONNX (opset 13) and run by ONNX Runtime against our runtime.</summary>
public class OnnxGraphV2Tests
{
    private const float Tol = 1e-5f;

    [Theory]
    [MemberData(nameof(GraphV2Samples.Rows), MemberType = typeof(GraphV2Samples))]
    public void OnnxRuntimeMatchesOurRuntime(string name)
    {
        var (graph, tensors) = GraphV2Samples.Build(name);
        var encoded = tensors.ToDictionary(kv => kv.Key, kv => DenseCodec.EncodeF32(kv.Value.Span, kv.Value.Shape));
        var ours = InferenceModel.Load(graph, n => encoded.GetValueOrDefault(n));
        using var dir = new TempDir();
        var path = dir.File(name + ".onnx");
        File.WriteAllBytes(path, OnnxExporter.Build(graph, tensors).ToByteArray());
        using var ort = new OnnxSession(path, threads: 1);
        Assert.Equal(graph.InputShape, ort.SampleShape);
        var rng = new Rng(500);
        foreach (int batch in new[] { 1, 3 })
        {
            var x = Tensor.Randn(rng, 1f, [batch, .. graph.InputShape]);
            var want = ours.Forward(x);
            var (got, shape) = ort.Run(x.Span.ToArray(), batch);
            Assert.Equal(want.Shape, shape);
            Assert.True(MaxAbsDiff(want.Span, got) <= Tol, $"{name} batch {batch}: {MaxAbsDiff(want.Span, got)}");
        }
    }

    [Fact]
    public void HardSwishStaysInOpset13AndPoolsCarryTheirGeometry()
    {
        var (graph, tensors) = GraphV2Samples.Build("dag");
        var model = OnnxExporter.Build(graph, tensors);
        Assert.Equal(13, model.OpsetImport.Single().Version);
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "HardSwish");
        Assert.Contains(model.Graph.Node, n => n.OpType == "HardSigmoid" && Math.Abs(n.Attribute.Single(a => a.Name == "alpha").F - 1f / 6f) < 1e-7f);

        var (pools, pt) = GraphV2Samples.Build("pools");
        var avg = OnnxExporter.Build(pools, pt).Graph.Node.Where(n => n.OpType == "AveragePool").ToDictionary(n => n.Name);
        Assert.Equal(0, avg["avg_excl"].Attribute.Single(a => a.Name == "count_include_pad").I);
        Assert.Equal(1, avg["avg_incl"].Attribute.Single(a => a.Name == "count_include_pad").I);
        Assert.Equal([2L, 4L], avg["avg_rect"].Attribute.Single(a => a.Name == "kernel_shape").Ints);
        Assert.Equal([1L, 3L], avg["avg_rect"].Attribute.Single(a => a.Name == "strides").Ints);
        Assert.Equal([1L, 2L, 1L, 2L], avg["avg_rect"].Attribute.Single(a => a.Name == "pads").Ints);
    }
}

using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format.Codecs;
using DeepShrink.Runtime.Execution;
using DeepShrink.Tests.Shared;

namespace DeepShrink.Runtime.Tests;

/// <summary>The graph-v2 ops (<see cref="GraphV2Samples"/>) against <see cref="ReferenceV2"/>, plus planning properties and errors.</summary>
public class GraphV2OpTests
{
    private const float Tol = 1e-5f;

    [Theory]
    [MemberData(nameof(GraphV2Samples.Rows), MemberType = typeof(GraphV2Samples))]
    public void SampleGraphMatchesTheReference(string name)
    {
        var (graph, tensors) = GraphV2Samples.Build(name);
        var encode = TestModels.Codec(name == "dag" ? "sparse-codebook" : "dense-f32");   // compressed weights in the DAG
        var encoded = tensors.ToDictionary(kv => kv.Key, kv => (kv.Key.EndsWith(".weight", StringComparison.Ordinal) ? encode(kv.Key, kv.Value) : null)
            ?? DenseCodec.EncodeF32(kv.Value.Span, kv.Value.Shape));
        ReferenceRunner.AssertRuntimeMatches(graph, encoded, [1, 3], new Rng(400), Tol);
    }

    [Fact]
    public void ReshapeIsFreeAndReluFoldsIntoBroadcastArithmetic()
    {
        Assert.Equal(Load("shape-ops").Graph.Nodes.Count - 2, Load("shape-ops").Model.StepCount);          // two reshapes alias
        Assert.Equal(Load("broadcast-constants").Graph.Nodes.Count - 1, Load("broadcast-constants").Model.StepCount); // relu folded
    }

    [Fact]
    public void BroadcastLayoutMergesContiguousAxes()
    {
        // same shapes, two inputs: one run over the whole batch
        var same = BroadcastLayout.Create([4, 6, 5], [4, 6, 5], [4, 6, 5], bPerSample: true);
        Assert.Equal([120], same.Extents);
        // per-channel constant [C, 1, 1]: per (sample, channel) a vector-scalar run over H W
        var channel = BroadcastLayout.Create([4, 6, 5], [4, 6, 5], [4, 1, 1], bPerSample: false);
        Assert.Equal([1, 4, 30], channel.Extents);
        Assert.Equal([0, 1, 0], channel.StrideB);
        Assert.Equal(1, channel.StrideA[^1]);
        // the first operand broadcast: [5] against [5, 4, 5]
        var grow = BroadcastLayout.Create([5, 4, 5], [5], [5, 4, 5], bPerSample: true);
        Assert.Equal(0, grow.StrideA[^2]);
        Assert.Equal(1, grow.StrideA[^1]);
        Assert.Equal(100, grow.StrideB[0]);
    }

    [Fact]
    public void BadShapesGiveOneLineErrorsNamingTheNode()
    {
        var g = new GraphBuilder([3, 4, 5]);
        var a = g.Add("a", "global_avgpool2d", [g.Graph.Input]);
        var v = g.Add("bad_add", "add", [g.Add("r", "reshape", [a], null, new() { ["shape"] = new[] { 3 } }), g.Graph.Input]);
        AssertLoadFails(g.Finish(v), new(), "bad_add");   // [3] + [3, 4, 5]: 3 against 5 on the last axis

        var g2 = new GraphBuilder([3, 4, 5]);
        var grows = g2.Finish(g2.Add("grows", "mul", [g2.Graph.Input], new() { ["b"] = "b" }));
        AssertLoadFails(grows, new() { ["b"] = DenseCodec.EncodeF32(new float[6], [2, 1, 1, 3]) }, "grows"); // the constant would add an axis

        var g3 = new GraphBuilder([3, 4, 5]);
        var padded = g3.Add("p", "pad", [g3.Graph.Input], null, new() { ["pads"] = new[] { 0, 0, 1, 0 } });
        AssertLoadFails(g3.Finish(g3.Add("cat", "concat", [g3.Graph.Input, padded], null, new() { ["axis"] = 1 })), new(), "cat");

        var g4 = new GraphBuilder([3, 4, 5]);
        AssertLoadFails(g4.Finish(g4.Add("nopads", "pad", [g4.Graph.Input])), new(), "nopads");
    }

    private static void AssertLoadFails(ModelGraph graph, Dictionary<string, EncodedTensor> tensors, string node)
    {
        var e = Assert.Throws<InvalidDataException>(() => InferenceModel.Load(graph, n => tensors.GetValueOrDefault(n)));
        Assert.Contains($"'{node}'", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    private static (ModelGraph Graph, InferenceModel Model) Load(string sample)
    {
        var (graph, tensors) = GraphV2Samples.Build(sample);
        var encoded = tensors.ToDictionary(kv => kv.Key, kv => DenseCodec.EncodeF32(kv.Value.Span, kv.Value.Shape));
        return (graph, InferenceModel.Load(graph, n => encoded.GetValueOrDefault(n)));
    }
}

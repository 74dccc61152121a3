using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Runtime.Tests;

/// <summary>Hand-built graphs covering every op and odd shapes, checked against <see cref="ReferenceRunner"/>.</summary>
public class GraphOpTests
{
    [Fact]
    public void DenseOpsMatchTheReference()
    {
        var f = new GraphFixture(20, [2, 3, 5]);
        var g = f.G;
        string v = g.Add("f0", "flatten", [g.Graph.Input], null, new() { ["start_axis"] = 2 });           // [2, 15]
        v = f.Bn("bn0", v, 2);                                                                   // over 2 channels of 15
        v = g.Add("act0", "leaky_relu", [v], null, new() { ["slope"] = 0.2 });
        v = g.Add("f1", "flatten", [v], null, new() { ["start_axis"] = 1 });                             // [30]
        v = f.Linear("fc1", v, 30, 17, "sparse-codebook");
        var skip = f.Bn("bn1", v, 17);
        v = g.Add("relu1", "relu", [skip]);
        v = f.Linear("fc2", v, 17, 17, "lowrank");
        v = g.Add("add", "add", [v, skip]);
        v = g.Add("tanh", "tanh", [v]);
        v = g.Add("id", "identity", [v]);
        v = f.Linear("fc3", v, 17, 9, "sparse-f32", bias: false);
        v = g.Add("sig", "sigmoid", [v]);
        var gelu = g.Add("gelu", "gelu", [v]);
        v = g.Add("add2", "add", [gelu, v]);
        f.Check(g.Finish(v), batches: [1, 4]);
    }

    [Fact]
    public void ConvAndPoolOpsMatchTheReference()
    {
        var f = new GraphFixture(21, [3, 11, 9]);
        var g = f.G;
        string v = f.Conv("c1", g.Graph.Input, 3, 8, 3, stride: 2, pad: 1, dilation: 1, groups: 1, "sparse-codebook");
        v = f.Bn("bn1", v, 8);
        v = g.Add("r1", "relu", [v]);
        var skip = v;
        v = f.Conv("c2", v, 8, 8, 3, stride: 1, pad: 2, dilation: 2, groups: 2, "sparse-f32");
        v = g.Add("add", "add", [v, skip]);
        v = g.Add("r2", "relu", [v]);
        v = g.Add("mp", "maxpool2d", [v], null, new() { ["kernel"] = 3, ["stride"] = 2, ["pad"] = 1 });
        v = f.Conv("c3", v, 8, 6, 1, stride: 1, pad: 0, dilation: 1, groups: 1, "lowrank");
        v = g.Add("ap", "avgpool2d", [v], null, new() { ["kernel"] = 2, ["stride"] = 1, ["pad"] = 1 });
        var pooled = g.Add("gap", "global_avgpool2d", [v]);
        v = g.Add("fl", "flatten", [pooled], null, new() { ["start_axis"] = 1 });
        v = f.Linear("fc", v, 6, 4, "dense-f32");
        f.Check(g.Finish(v), batches: [1, 3]);
    }
}

using DeepShrink.Compression.Quantization;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Data;
using DeepShrink.Nn;
using DeepShrink.Nn.IO;

namespace DeepShrink.Compression.Tests;

/// <summary>The low-rank recipe component replaces layers by factor sequences in the graph, through the Compressor.</summary>
public class LowRankComponentTests
{
    internal static GraphModule Net()
    {
        var b = new NetBuilder([2, 8, 8], new Rng(3));
        var v = b.Op("r1", "relu", b.Conv("conv1", b.Input, 12, 3, padding: 1));
        v = b.Op("r2", "relu", b.Conv("conv2", v, 10, 3, stride: 2, padding: 1));
        v = b.Op("flatten", "flatten", v, new() { ["start_axis"] = 1 });
        v = b.Op("r3", "relu", b.Linear("fc1", v, 32));
        return b.Finish(b.Linear("fc2", v, 4));
    }

    private static CompressionResult Run(GraphModule model, string conv, double energy, string dir)
    {
        var all = SyntheticData.Blobs(96, 4, 2, 8, 8, 1);
        var recipe = RecipeLoader.Parse($$"""
            version: 1
            name: lr
            components:
              f: {type: low-rank, linear: svd, conv: {{conv}}, energy: {{energy}}, layers: [{match: "fc2.weight", skip: true}]}
            policies:
              - {component: f, start_epoch: 0}
            """, "lr.yaml");
        return Compressor.Run(new CompressionJob
        {
            Model = new LoadedModel(model, new Dictionary<string, string>()), Recipe = recipe,
            Train = all, Validation = all, Test = all, OutPath = Path.Combine(dir, conv + ".dsz"),
        });
    }

    // Weights of exactly low rank: fc1 of matrix rank 2, convs of multilinear ranks (3, 2) and (2, 3).
    private static GraphModule LowRankNet()
    {
        var model = Net();
        var rng = new Rng(8);
        var state = model.StateDict();
        var u = Tensor.Randn(rng, 0.3f, 32, 2); var v = Tensor.Randn(rng, 0.3f, 2, 160);
        state["fc1.weight"].CopyFrom(Ops.MatMul(u, v));
        foreach (var (name, ro, ri) in new[] { ("conv1.weight", 3, 2), ("conv2.weight", 2, 3) })
        {
            var w = state[name];
            int o = w.Shape[0], c = w.Shape[1], k = w.Shape[2] * w.Shape[3];
            var a = Tensor.Randn(rng, 0.5f, o, ro); var b = Tensor.Randn(rng, 0.5f, c, ri); var g = Tensor.Randn(rng, 0.5f, ro, ri * k);
            // W[o, c, :] = sum_ij A[o, i] B[c, j] G[i, j, :]
            var ag = Ops.MatMul(a, g).ToArray(); // [O, ri*k]
            var bs = b.ToArray();
            var ws = w.Span;
            for (int oo = 0; oo < o; oo++)
                for (int cc = 0; cc < c; cc++)
                    for (int t = 0; t < k; t++)
                    {
                        float acc = 0;
                        for (int j = 0; j < ri; j++) acc += bs[cc * ri + j] * ag[oo * ri * k + j * k + t];
                        ws[(oo * c + cc) * k + t] = acc;
                    }
        }
        return model;
    }

    [Fact]
    public void OnExactlyLowRankLayersTheFactorisedGraphComputesTheOriginalFunction()
    {
        const string conv = "tucker2";
        var model = LowRankNet();
        var x = Tensor.Randn(new Rng(4), 1f, 3, 2, 8, 8);
        float[] want;
        model.Eval();
        using (Engine.NoGrad()) want = model.Forward(x).ToArray();
        var dir = Directory.CreateTempSubdirectory("ds-lr-").FullName;
        try
        {
            var r = Run(model, conv, 1.0, dir);
            var loaded = ModelIO.Load(Path.Combine(dir, conv + ".dsz"), InputHooks.Factories).Model;
            Assert.Contains(loaded.Graph.Nodes, n => n.Name == "fc1.f1");
            Assert.Contains(loaded.Graph.Nodes, n => n.Name == "conv1.f2");
            Assert.Contains(loaded.Graph.Nodes, n => n.Name == "conv2.f2");
            Assert.DoesNotContain(loaded.Graph.Nodes, n => n.Name == "fc2.f0");
            float[] got;
            using (Engine.NoGrad()) got = loaded.Forward(x).ToArray();
            for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - got[i]) <= 2e-3f * (1 + Math.Abs(want[i])), $"{conv} element {i}: {want[i]} vs {got[i]}");
            Assert.Equal(r.Model.Parameters().Sum(p => p.Size), loaded.Parameters().Sum(p => p.Size));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("tucker2")]
    [InlineData("spatial-svd")]
    public void AtLowerEnergyTheFactorsHoldFewerParameters(string conv)
    {
        var model = Net();
        long before = model.Parameters().Sum(p => (long)p.Size);
        var dir = Directory.CreateTempSubdirectory("ds-lr-").FullName;
        try
        {
            var r = Run(model, conv, 0.5, dir);
            long after = r.Model.Parameters().Sum(p => (long)p.Size);
            Assert.True(after < before, $"{before} -> {after}");
            Assert.True(r.Ratio > 1, $"ratio {r.Ratio}");
        }
        finally { Directory.Delete(dir, true); }
    }
}

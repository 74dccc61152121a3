using DeepShrink.Compression;
using DeepShrink.Compression.Quantization;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Core.Graph;
using DeepShrink.Data;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn;
using DeepShrink.Nn.IO;
using DeepShrink.Runtime;

namespace DeepShrink.Onnx.Tests;

/// <summary>
/// Factorised layers are ordinary graph layers: every factor form the low-rank component writes (SVD pairs, Tucker-2,
/// CP with depthwise passes, spatial SVD) runs the same in the trainer, our runtime and ONNX Runtime, and composes with int8.
/// </summary>
public class LowRankExportTests
{
    // Strided and padded convs so the factor forms carry stride/padding onto the right passes.
    private static GraphModule Net()
    {
        var b = new NetBuilder([2, 10, 10], new Rng(31));
        var v = b.Op("r1", "relu", b.Conv("conv1", b.Input, 12, 3, padding: 1));
        v = b.Op("r2", "relu", b.Conv("conv2", v, 16, 3, stride: 2, padding: 1));
        v = b.Op("flatten", "flatten", v, new() { ["start_axis"] = 1 });
        v = b.Op("r3", "relu", b.Linear("fc1", v, 24));
        return b.Finish(b.Linear("fc2", v, 4));
    }

    private static CompressionResult Compress(string components, string policies, string outPath)
    {
        var all = SyntheticData.Blobs(64, 4, 2, 10, 10, 2);
        var recipe = RecipeLoader.Parse($"version: 1\nname: lr-export\ncomponents:\n{components}\npolicies:\n{policies}\n", "lr-export.yaml");
        return Compressor.Run(new CompressionJob
        {
            Model = new LoadedModel(Net(), new Dictionary<string, string>()), Recipe = recipe,
            Train = all, Validation = all, Test = all, OutPath = outPath, MaxDropPp = 100,
        });
    }

    private static void AssertClose(ReadOnlySpan<float> want, ReadOnlySpan<float> got, float tol, string what)
    {
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= tol * (1 + Math.Abs(want[i])), $"{what} element {i}: {want[i]} vs {got[i]}");
    }

    [Theory]
    [InlineData("tucker2", 3)]
    [InlineData("cp", 4)]
    [InlineData("spatial-svd", 2)]
    public void EveryFactorFormMatchesInTheRuntimeAndOnnxRuntime(string conv, int convFactors)
    {
        using var dir = new TempDir();
        var dsz = dir.File(conv + ".dsz");
        var r = Compress($"  f: {{type: low-rank, linear: svd, conv: {conv}, target: {{flops: 0.5}}, allocation: uniform}}",
            "  - {component: f, start_epoch: 0}", dsz);
        var loaded = ModelIO.Load(dsz, InputHooks.Factories).Model;
        var nodes = loaded.Graph.Nodes;
        Assert.Contains(nodes, n => n.Name == "fc1.f1");
        Assert.DoesNotContain(nodes, n => n.Name.StartsWith("fc2.f", StringComparison.Ordinal));
        Assert.Contains(nodes, n => n.Name == $"conv2.f{convFactors - 1}");
        if (conv == "cp")
        {
            var mid = nodes.Single(n => n.Name == "conv2.f1");
            Assert.True(ConvAttrs.Of(mid).Groups > 1, "the CP kx1 pass is depthwise");
        }
        // within the budget, counted the way compress --json counts it
        var state = loaded.StateDict();
        long macs = GraphAnalysis.TotalMacs(loaded.ToGraph(), t => state.TryGetValue(t, out var v) ? v.Shape : null);
        var dense = Net();
        var dstate = dense.StateDict();
        long denseMacs = GraphAnalysis.TotalMacs(dense.ToGraph(), t => dstate.TryGetValue(t, out var v) ? v.Shape : null);
        Assert.True(macs <= 0.5 * denseMacs, $"{macs} MACs of {denseMacs}");

        var x = Tensor.Randn(new Rng(5), 1f, 6, 2, 10, 10);
        loaded.Eval();
        float[] want;
        using (Engine.NoGrad()) want = loaded.Forward(x).ToArray();
        foreach (var policy in new[] { KernelPolicy.Dense, KernelPolicy.Compressed, KernelPolicy.Auto })
            AssertClose(want, InferenceModel.Load(dsz, new RuntimeOptions { Kernels = policy }).Run(x.ToArray(), 6), 1e-4f, $"{conv} runtime {policy}");
        OnnxExport.FromDsz(DszFile.Read(dsz), dir.File(conv + ".onnx"));
        using var ort = new OnnxSession(dir.File(conv + ".onnx"), threads: 1);
        AssertClose(want, ort.Run(x.ToArray(), 6).Values, 1e-4f, $"{conv} onnx runtime");
        Assert.True(r.Ratio > 1, $"ratio {r.Ratio}");
    }

    [Fact]
    public void TuckerThenInt8InOneRecipeRunsStoresInt8FactorsAndExports()
    {
        using var dir = new TempDir();
        var dsz = dir.File("t8.dsz");
        Compress("""
              f: {type: low-rank, conv: tucker2, target: {flops: 0.5}, allocation: uniform}
              q: {type: linear-quantization, mode: ptq, bits: 8, activations: true, calibration: minmax, calibration_batches: 2}
            """, """
              - {component: f, start_epoch: 0}
              - {component: q, start_epoch: 1}
            """.Replace("start_epoch: 0}", "start_epoch: 0, end_epoch: 1}"), dsz);
        var file = DszFile.Read(dsz);
        Assert.Equal(Int8Codec.CodecName, file["conv2.f1.weight"].Encoded.Codec);
        Assert.Equal(Int8Codec.CodecName, file["fc1.f0.weight"].Encoded.Codec);
        var x = Tensor.Randn(new Rng(6), 1f, 6, 2, 10, 10);
        var loaded = ModelIO.Load(dsz, InputHooks.Factories).Model;
        loaded.Eval();
        float[] want;
        using (Engine.NoGrad()) want = loaded.Forward(x).ToArray();
        var ours = InferenceModel.Load(dsz).Run(x.ToArray(), 6);
        OnnxExport.FromDsz(file, dir.File("t8.onnx"));
        using var ort = new OnnxSession(dir.File("t8.onnx"), threads: 1);
        var got = ort.Run(x.ToArray(), 6).Values;
        // Quantised activations: a value within float rounding of a rounding tie may land one code away, so compare
        // against the output scale rather than element by element.
        float scale = want.Max(MathF.Abs);
        Assert.True(OnnxTestUtil.MaxAbsDiff(want, ours) <= 0.05f * scale, $"runtime vs trainer {OnnxTestUtil.MaxAbsDiff(want, ours)} (scale {scale})");
        Assert.True(OnnxTestUtil.MaxAbsDiff(want, got) <= 0.05f * scale, $"onnx runtime vs trainer {OnnxTestUtil.MaxAbsDiff(want, got)} (scale {scale})");
    }
}

using DeepShrink.Core.Graph;

namespace DeepShrink.Runtime.Tests;

/// <summary>
/// Batch-norm folding and conv + add + ReLU fusion on residual graphs: the runtime must still match the
/// reference interpreter (folded or not, any thread count), and the fused plan must really have fewer steps.
/// </summary>
public class ConvFusionTests
{
    /// <summary>A small ResNet: stem conv-bn-relu, maxpool, an identity block, a projection block (stride 2), head.</summary>
    private static ModelGraph MiniResNet(GraphFixture f, string codec = "dense-f32", int width = 8)
    {
        var g = f.G;
        string v = f.Conv("stem", g.Graph.Input, 3, width, 3, stride: 2, pad: 1, dilation: 1, groups: 1, codec);
        v = g.Add("stem.relu", "relu", [f.Bn("stem.bn", v, width)]);
        v = g.Add("pool", "maxpool2d", [v], null, new() { ["kernel"] = 3, ["stride"] = 2, ["pad"] = 1 });
        v = Block(f, "b1", v, width, width, 1, codec);
        v = Block(f, "b2", v, width, 2 * width, 2, codec);
        v = g.Add("gap", "global_avgpool2d", [v]);
        v = g.Add("flat", "flatten", [v], null, new() { ["start_axis"] = 1 });
        return g.Finish(f.Linear("fc", v, 2 * width, 5, "dense-f32"));
    }

    private static string Block(GraphFixture f, string name, string x, int inC, int outC, int stride, string codec)
    {
        var g = f.G;
        string y = f.Conv(name + ".c1", x, inC, outC, 3, stride, pad: 1, dilation: 1, groups: 1, codec);
        y = g.Add(name + ".r1", "relu", [f.Bn(name + ".bn1", y, outC)]);
        y = f.Bn(name + ".bn2", f.Conv(name + ".c2", y, outC, outC, 3, 1, pad: 1, dilation: 1, groups: 1, codec), outC);
        string shortcut = stride == 1 && inC == outC ? x
            : f.Bn(name + ".bnd", f.Conv(name + ".down", x, inC, outC, 1, stride, pad: 0, dilation: 1, groups: 1, codec), outC);
        return g.Add(name + ".relu", "relu", [g.Add(name + ".add", "add", [y, shortcut])]);
    }

    [Fact]
    public void Folded_and_fused_residual_network_matches_the_reference()
    {
        var f = new GraphFixture(31, [3, 21, 19]);
        var graph = MiniResNet(f);
        foreach (bool fold in new[] { true, false })
            foreach (bool pack in new[] { true, false })
                foreach (int threads in new[] { 1, 2 })
                    f.Check(graph, [1, 3], new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = threads, FoldBatchNorm = fold, PackConvolutions = pack }, 1e-4f);
    }

    /// <summary>An ImageNet-style stem (conv 7 x 7 / 2 on 3 channels, batch norm, ReLU, max pool 3 x 3 / 2) and a small head;
    /// with <paramref name="branch"/> the stem's activations are also read by a second, 1 x 1 path (so they must exist).</summary>
    private static ModelGraph Stem(GraphFixture f, bool branch)
    {
        var g = f.G;
        string v = f.Conv("stem", g.Graph.Input, 3, 16, 7, stride: 2, pad: 3, dilation: 1, groups: 1, "dense-f32");
        string act = g.Add("stem.relu", "relu", [f.Bn("stem.bn", v, 16)]);
        v = g.Add("pool", "maxpool2d", [act], null, new() { ["kernel"] = 3, ["stride"] = 2, ["pad"] = 1 });
        v = f.Conv("c1", v, 16, 8, 3, 1, pad: 1, dilation: 1, groups: 1, "dense-f32");
        v = g.Add("gap", "global_avgpool2d", [v]);
        if (branch) v = g.Add("both", "add", [v, g.Add("gap2", "global_avgpool2d", [f.Conv("side", act, 16, 8, 1, 1, pad: 0, dilation: 1, groups: 1, "dense-f32")])]);
        v = g.Add("flat", "flatten", [v], null, new() { ["start_axis"] = 1 });
        return g.Finish(f.Linear("fc", v, 8, 5, "dense-f32"));
    }

    [Fact]
    public void Few_channel_stem_with_its_max_pool_fused_matches_the_reference()
    {
        // 61 x 75 input: a 31 x 38 convolution output (three vectors, one partial) pooled to 16 x 19
        var f = new GraphFixture(35, [3, 61, 75]);
        var graph = Stem(f, branch: false);
        foreach (bool few in new[] { true, false })
            foreach (int threads in new[] { 1, 2 })
                f.Check(graph, [1, 3], new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = threads, FewChannelConvolutions = few }, 1e-4f);
        var on = f.Load(graph, new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = 2 });
        var off = f.Load(graph, new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = 2, FewChannelConvolutions = false });
        var steps = on.Profile(new float[on.InputSize], 1, 1);
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
        {
            Assert.Contains(steps, s => s.Op == "conv2d+maxpool2d" && s.Name == "stem+pool");
            Assert.Equal(off.Profile(new float[off.InputSize], 1, 1).Count - 1, steps.Count); // the pool step is gone
        }
        Assert.DoesNotContain(off.Profile(new float[off.InputSize], 1, 1), s => s.Op == "conv2d+maxpool2d");
    }

    [Fact]
    public void Stem_whose_activations_are_read_twice_keeps_its_pool_step()
    {
        var f = new GraphFixture(36, [3, 61, 75]);
        var graph = Stem(f, branch: true);
        var m = f.Check(graph, [1, 2], new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = 2 }, 1e-4f);
        var steps = m.Profile(new float[m.InputSize], 1, 1);
        Assert.DoesNotContain(steps, s => s.Op == "conv2d+maxpool2d");
        Assert.Contains(steps, s => s.Op == "maxpool2d");
    }

    [Fact]
    public void Winograd_convolutions_match_the_reference_and_the_direct_path()
    {
        // 40x36 input, 128 channels (Winograd pays only with both channel counts >= 64, WinogradConv.Pays): the first
        // block's 3x3 convs see 10x9 planes (25 F(2x2) tiles per image: Winograd from batch 8, 196 tiles), the second
        // block's stride-1 conv 256 -> 256 on 5x5 (9 tiles: from batch 22); residual add and ReLU fused
        var f = new GraphFixture(33, [3, 40, 36]);
        var graph = MiniResNet(f, width: 128);
        // (the rules; with MeasureConvolutions on, the choice is timed and checked below)
        foreach (int threads in new[] { 1, 2 })
            foreach (bool measure in new[] { false, true })
                f.Check(graph, [1, 8], new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = threads, MeasureConvolutions = measure }, 1e-4f);
        // (one batch of 8 with the layers shared: shared out image by image, each thread's 4 images are below batch 8)
        var wino = f.Load(graph, new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = 2, MeasureConvolutions = false, ImageParallel = false });
        var direct = f.Load(graph, new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = 2, Winograd = false, ImageParallel = false });
        var steps = wino.Profile(new float[wino.InputSize], 1, 1);
        Assert.Equal(3, steps.Count(s => s.Detail.Contains("winograd", StringComparison.Ordinal)));
        Assert.DoesNotContain(direct.Profile(new float[direct.InputSize], 1, 1), s => s.Detail.Contains("winograd", StringComparison.Ordinal));
        // measured at load: every eligible conv states the timings its choice came from
        var measured = f.Load(graph, new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = 2, MeasureConvolutions = true });
        Assert.Equal(3, measured.Profile(new float[measured.InputSize], 1, 1).Count(s => s.Detail.Contains("winograd-f", StringComparison.Ordinal) && s.Detail.Contains("measured b1:", StringComparison.Ordinal)));
        var x = new float[8 * wino.InputSize];
        var rng = new Core.Rng(4);
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextFloat() * 2 - 1;
        var a = new float[8 * wino.OutputSize];
        var b = new float[8 * wino.OutputSize];
        wino.Run(x, 8, a);
        direct.Run(x, 8, b);
        float diff = 0, scale = 0;
        for (int i = 0; i < a.Length; i++) { diff = MathF.Max(diff, MathF.Abs(a[i] - b[i])); scale = MathF.Max(scale, MathF.Abs(b[i])); }
        Assert.True(diff > 0f || scale == 0f, "Winograd and the direct path gave identical bits: was Winograd run at all?");
        Assert.True(diff <= 1e-5f * (1 + scale), $"Winograd vs direct: max abs diff {diff} at output scale {scale}");
    }

    [Fact]
    public void Folding_and_fusion_remove_the_batchnorm_add_and_relu_steps()
    {
        var f = new GraphFixture(32, [3, 16, 16]);
        var graph = MiniResNet(f);
        var folded = f.Load(graph, new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = 1 });
        var plain = f.Load(graph, new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = 1, FoldBatchNorm = false });
        var steps = folded.Profile(new float[folded.InputSize], 1, 1);
        Assert.DoesNotContain(steps, s => s.Op is "batchnorm" or "add" or "relu");
        // stem, b1.c1, b1.c2, b2.c1, b2.c2, b2.down, pool, gap, fc: the two adds ride on the last conv of each block
        Assert.Equal(9, folded.StepCount);
        Assert.Equal(2, steps.Count(s => s.Detail.Contains("+add+relu", StringComparison.Ordinal)));
        Assert.True(plain.StepCount > folded.StepCount + 6, $"unfolded plan has {plain.StepCount} steps");
    }

    [Fact]
    public void Compressed_weights_keep_their_batchnorm_and_still_match()
    {
        var f = new GraphFixture(33, [3, 12, 12]);
        var graph = MiniResNet(f, codec: "sparse-codebook");
        var m = f.Check(graph, [1, 2], new RuntimeOptions { Kernels = KernelPolicy.Compressed, Threads = 2 }, 1e-4f);
        Assert.Contains(m.Profile(new float[m.InputSize], 1, 1), s => s.Op == "batchnorm");
    }

    [Fact]
    public void A_conv_output_read_twice_is_neither_folded_nor_fused()
    {
        var f = new GraphFixture(34, [4, 9, 9]);
        var g = f.G;
        string c = f.Conv("c", g.Graph.Input, 4, 4, 3, 1, pad: 1, dilation: 1, groups: 1, "dense-f32");
        string bn = f.Bn("bn", c, 4);
        string sum = g.Add("add", "add", [bn, c]);
        string c2 = f.Conv("c2", sum, 4, 4, 1, 1, pad: 0, dilation: 1, groups: 1, "dense-f32");
        var graph = g.Finish(g.Add("add2", "add", [c2, c]));
        var m = f.Check(graph, [1, 2], new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = 2 }, 1e-4f);
        var steps = m.Profile(new float[m.InputSize], 1, 1);
        Assert.Contains(steps, s => s.Op == "batchnorm");
        Assert.Contains(steps, s => s.Op == "add");
    }

    [Fact]
    public void Kernel_taps_that_only_meet_padding_are_cropped_and_the_outputs_still_match()
    {
        // 7 x 7 input: stem (s2) -> 4 x 4, pool -> 2 x 2, block 1 on 2 x 2 (every tap is live), block 2: its stride-2
        // 3 x 3 conv has one output whose first row and column read padding only (-> 2 x 2 taps), the next conv runs on a
        // 1 x 1 map (-> 1 x 1)
        var f = new GraphFixture(35, [3, 7, 7]);
        var graph = MiniResNet(f, width: 16);
        foreach (bool crop in new[] { true, false })
            foreach (int threads in new[] { 1, 2 })
                f.Check(graph, [1, 3], new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = threads, CropPaddingTaps = crop }, 1e-4f);
        var m = f.Load(graph, new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = 1 });
        var notes = m.Profile(new float[m.InputSize], 1, 1).Where(s => s.Detail.Contains("taps ", StringComparison.Ordinal)).Select(s => s.Detail.Split('|')[0]).ToList();
        Assert.Equal(["taps 3x3->2x2", "taps 3x3->1x1"], notes);
        // both cropped convs read their whole (unpadded) input for their one output position: one matrix-vector
        // product per image
        var byName = m.Profile(new float[m.InputSize], 1, 1).ToDictionary(s => s.Name, s => s.Detail);
        Assert.Equal("taps 3x3->2x2|matrix-vector+relu", byName["b2.c1"]);
        Assert.StartsWith("taps 3x3->1x1|matrix-vector", byName["b2.c2"]);
        var off = f.Load(graph, new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = 1, CropPaddingTaps = false });
        Assert.DoesNotContain(off.Profile(new float[off.InputSize], 1, 1), s => s.Detail.Contains("taps ", StringComparison.Ordinal));

        // the matrix-vector path with a fused residual add and ReLU: conv on a 1 x 1 map + its input
        var r = new GraphFixture(37, [8, 1, 1]);
        string rc = r.Conv("c", r.G.Graph.Input, 8, 8, 3, 1, pad: 1, dilation: 1, groups: 1, "dense-f32");
        var residual = r.G.Finish(r.G.Add("relu", "relu", [r.G.Add("add", "add", [rc, r.G.Graph.Input])]));
        var rm = r.Check(residual, [1, 5], new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = 2 }, 1e-5f);
        Assert.Equal("taps 3x3->1x1|matrix-vector+add+relu", Assert.Single(rm.Profile(new float[rm.InputSize], 1, 1)).Detail);

        // one axis only, and a dilated kernel: a 1 x 5 input keeps its columns, crops its rows
        var h = new GraphFixture(36, [4, 1, 5]);
        var g = h.G;
        string v = g.Add("r", "relu", [h.Conv("c1", g.Graph.Input, 4, 6, 3, 1, pad: 1, dilation: 1, groups: 1, "dense-f32")]);
        var line = g.Finish(h.Conv("c2", v, 6, 6, 3, 1, pad: 2, dilation: 2, groups: 1, "dense-f32"));
        var lm = h.Check(line, [1, 2], new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = 2 }, 1e-4f);
        Assert.Equal(["taps 3x3->1x3", "taps 3x3->1x3"], lm.Profile(new float[lm.InputSize], 1, 1).Where(s => s.Op == "conv2d").Select(s => s.Detail.Split('|')[0]));
    }

    [Fact]
    public void Depthwise_convolutions_run_the_stencil_kernel_and_match_the_reference()
    {
        var f = new GraphFixture(38, [12, 9, 10]);
        var g = f.G;
        string v = g.Add("r1", "relu", [f.Conv("dw1", g.Graph.Input, 12, 12, 3, 1, pad: 1, dilation: 1, groups: 12, "dense-f32")]);
        v = f.Conv("dw2", v, 12, 12, 3, 2, pad: 1, dilation: 1, groups: 12, "dense-f32");
        var graph = g.Finish(f.Conv("pw", v, 12, 5, 1, 1, pad: 0, dilation: 1, groups: 1, "dense-f32"));
        foreach (int threads in new[] { 1, 2 })
        {
            var m = f.Check(graph, [1, 3], new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = threads }, 1e-5f);
            var byName = m.Profile(new float[m.InputSize], 1, 1).ToDictionary(s => s.Name, s => s.Detail);
            Assert.Equal("depthwise+relu", byName["dw1"]);
            Assert.Equal("depthwise", byName["dw2"]);
        }
    }
    [Fact]
    public void A_batch_shared_out_image_by_image_gives_each_image_exactly_what_its_part_gives_alone()
    {
        // batch 5 on 2 threads: images 0-1 and 2-3 run on one thread each, image 4 afterwards on both; results never
        // depend on the thread count, so each part must equal that part run with every layer shared (image-parallel off)
        var f = new GraphFixture(35, [3, 48, 40]);
        var graph = MiniResNet(f, width: 64); // ~18 M multiply-adds an image: large enough to be shared out
        var on = f.Load(graph, new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = 2, MeasureConvolutions = false });
        var off = f.Load(graph, new RuntimeOptions { Kernels = KernelPolicy.Dense, Threads = 2, MeasureConvolutions = false, ImageParallel = false });
        long mega = InferenceModel.ImageParallelMinMacs;
        Assert.Equal(2, InferenceModel.ImagesPerThread(5, 2, mega, 0));
        Assert.Equal(0, InferenceModel.ImagesPerThread(1, 2, mega, 0));       // batch 1 is never split
        Assert.Equal(0, InferenceModel.ImagesPerThread(8, 1, mega, 0));       // one thread
        Assert.Equal(0, InferenceModel.ImagesPerThread(8, 2, 0, 0));          // option off
        Assert.Equal(0, InferenceModel.ImagesPerThread(2, 2, mega - 1, 0));   // a part too small to hand off
        Assert.Equal(0, InferenceModel.ImagesPerThread(4, 2, mega, 2 * mega + 1)); // weights outweigh the part's arithmetic
        Assert.Equal(2, InferenceModel.ImagesPerThread(4, 2, mega, 2 * mega));
        Assert.Equal(2, on.ImagesPerThreadAt(5));
        Assert.Equal(0, off.ImagesPerThreadAt(5));
        int n = on.InputSize, m = on.OutputSize;
        var rng = new Core.Rng(9);
        var x = new float[5 * n];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextFloat() * 2 - 1;
        var y = on.Run(x, 5);
        foreach (var (first, count) in new[] { (0, 2), (2, 2), (4, 1) })
        {
            var part = off.Run(x.AsSpan(first * n, count * n), count);
            Assert.Equal(part, y.AsSpan(first * m, count * m).ToArray());
        }
        Assert.Equal(off.Run(x, 5).Length, y.Length);
    }
}

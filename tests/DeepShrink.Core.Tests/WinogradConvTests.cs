using DeepShrink.Core.Kernels;
using static DeepShrink.Core.Tests.ConvTestUtil;

namespace DeepShrink.Core.Tests;

/// <summary>
/// F(4x4, 3x3) Winograd convolution: the plain reference twin against the direct reference, and the fast kernel against
/// both, with bias, residual, ReLU, odd planes (partial tiles), padding 0/1/2, batches spanning chunks and both GEMM levels.
/// Tolerance: the transforms (entries up to 8 and 1/24) add rounding of a few ulps of the summed magnitudes, so errors
/// are held to 2e-6 sqrt(9 C) (1 + |y|) against the direct convolution, the same scale as the packed GEMM's bound times 1.
/// </summary>
public class WinogradConvTests
{
    public static TheoryData<ConvGeometry> Geometries() => new()
    {
        new ConvGeometry(1, 3, 17, 15, 8, 3, 3, 1, 1, 1, 1),      // partial tiles both ways
        new ConvGeometry(1, 16, 8, 8, 32, 3, 3, 1, 1, 1, 1),      // exact tiles
        new ConvGeometry(1, 5, 7, 7, 9, 3, 3, 1, 1, 1, 1),        // ResNet's last-stage plane
        new ConvGeometry(1, 4, 10, 9, 6, 3, 3, 1, 1, 0, 0),       // no padding
        new ConvGeometry(1, 4, 6, 11, 5, 3, 3, 1, 1, 2, 1),       // unequal padding, wider than tall
        new ConvGeometry(1, 2, 5, 70, 4, 3, 3, 1, 1, 1, 1),       // more than 16 tiles per tile row
        new ConvGeometry(1, 70, 14, 14, 40, 3, 3, 1, 1, 1, 1),    // deep reduction (V by transform point, M by channel)
        new ConvGeometry(1, 24, 12, 13, 80, 3, 3, 1, 1, 1, 1),    // V by channel, M by transform point
        new ConvGeometry(1, 72, 9, 10, 66, 3, 3, 1, 1, 1, 1),     // both by transform point
        new ConvGeometry(1, 1, 3, 3, 1, 3, 3, 1, 1, 0, 0),        // a single output
    };

    private static SimdLevel[] Levels() =>
        new[] { SimdLevel.Scalar, SimdLevel.Vector256Fma, SimdLevel.Vector512 }.Where(l => l <= CpuFeatures.Level).ToArray();

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Reference_twin_matches_the_direct_convolution(ConvGeometry one)
    {
        foreach (int tile in new[] { 4, 2 })
        {
        var g = one with { N = 2 };
        var rng = new Rng((ulong)(g.C * 7 + g.H));
        var x = Uniform(rng, g.InputSize);
        var w = Uniform(rng, g.WeightSize);
        var bias = Uniform(rng, g.O);
        var want = new float[g.OutputSize];
        ConvReference.Forward(g, x, w, bias, want);
        var got = Nan(g.OutputSize);
        WinogradReference.Forward(g, x, w, bias, got, tile);
        AssertClose(got, want, 2e-6 * Math.Sqrt(g.GroupK), $"reference twin F({tile}x{tile})");
        }
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Forward_matches_the_references_with_bias_residual_and_relu(ConvGeometry one)
    {
        foreach (int tile in new[] { 4, 2 })
        foreach (var level in Levels())
            foreach (int batch in new[] { 1, 3 })
                foreach (bool fused in new[] { false, true })
                {
                    var rng = new Rng((ulong)(batch * 31 + one.C));
                    var g = one with { N = batch };
                    var x = Uniform(rng, g.InputSize);
                    var w = Uniform(rng, g.WeightSize);
                    var bias = fused ? Uniform(rng, g.O) : [];
                    var residual = fused ? Uniform(rng, g.OutputSize) : [];
                    var direct = new float[g.OutputSize];
                    ConvReference.Forward(g, x, w, bias, direct);
                    var twin = new float[g.OutputSize];
                    WinogradReference.Forward(g, x, w, bias, twin, tile);
                    for (int i = 0; i < direct.Length && fused; i++)
                    {
                        direct[i] = MathF.Max(0f, direct[i] + residual[i]);
                        twin[i] = MathF.Max(0f, twin[i] + residual[i]);
                    }
                    var conv = new WinogradConv(one, w, bias, tile, level);
                    foreach (int threads in new[] { 1, 2 })
                    {
                        var got = Nan(g.OutputSize);
                        conv.Forward(batch, x, got, residual, relu: fused, threads);
                        string what = $"F({tile}x{tile}) {CpuFeatures.Name(level)} batch {batch} threads {threads} fused {fused}";
                        AssertClose(got, direct, 1e-5 * Math.Sqrt(g.GroupK), what + " vs direct");
                        AssertClose(got, twin, 1e-5 * Math.Sqrt(g.GroupK), what + " vs twin");
                    }
                }
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count_and_chunks_cover_the_batch()
    {
        // chunks of one image each (and of the whole batch), both must give the same bits
        var one = new ConvGeometry(1, 16, 22, 21, 24, 3, 3, 1, 1, 1, 1);
        var g = one with { N = 5 };
        var rng = new Rng(5);
        var x = Uniform(rng, g.InputSize);
        var w = Uniform(rng, g.WeightSize);
        var bias = Uniform(rng, g.O);
        foreach (int tile in new[] { 4, 2 })
        {
        var conv = new WinogradConv(one, w, bias, tile);
        var first = new float[g.OutputSize];
        conv.Forward(5, x, first, [], relu: false, threads: 1);
        var chunked = new float[g.OutputSize];
        new WinogradConv(one, w, bias, tile) { ChunkFloats = 1 }.Forward(5, x, chunked, [], relu: false, threads: 2);
        Assert.True(first.AsSpan().SequenceEqual(chunked), "one image per chunk changed the result");
        foreach (int t in new[] { 2, 3 })
        {
            var y = new float[g.OutputSize];
            conv.Forward(5, x, y, [], relu: false, threads: t);
            Assert.True(first.AsSpan().SequenceEqual(y), $"{t} threads changed the result");
        }
        var single = new float[one.OutputSize];
        conv.Forward(1, x.AsSpan(4 * one.InputSize, one.InputSize), single, [], relu: false, threads: 2);
        Assert.True(single.AsSpan().SequenceEqual(first.AsSpan(4 * one.OutputSize)), "an image's result depends on its batch");
        var want = new float[one.OutputSize];
        ConvReference.Forward(one, x.AsSpan(4 * one.InputSize, one.InputSize), w, bias, want);
        AssertClose(single, want, 1e-5 * Math.Sqrt(one.GroupK), $"F({tile}x{tile}) last image of the batch");
        }
    }

    [Fact]
    public void Bad_input_gives_clear_errors()
    {
        var strided = new ConvGeometry(1, 4, 8, 8, 4, 3, 3, 2, 2, 1, 1);
        Assert.False(WinogradConv.Supports(strided));
        var e = Assert.Throws<ArgumentException>(() => new WinogradConv(strided, new float[strided.WeightSize], []));
        Assert.Contains("stride 1", e.Message);
        Assert.False(WinogradConv.Supports(new ConvGeometry(1, 4, 8, 8, 4, 5, 5, 1, 1, 2, 2)));
        Assert.False(WinogradConv.Supports(new ConvGeometry(1, 4, 8, 8, 4, 3, 3, groups: 2)));
        var ok = new ConvGeometry(1, 4, 8, 8, 4, 3, 3, 1, 1, 1, 1);
        var conv = new WinogradConv(ok, new float[ok.WeightSize], []);
        Assert.Throws<ArgumentException>(() => conv.Forward(1, new float[5], new float[ok.OutputSize], [], false, 1));
        Assert.Throws<ArgumentException>(() => new WinogradConv(ok, new float[3], []));
        Assert.Contains("4 or 2", Assert.Throws<ArgumentException>(() => new WinogradConv(ok, new float[ok.WeightSize], [], 3)).Message);
    }

    [Fact]
    public void The_runtime_rule_needs_wide_layers_and_grows_with_the_batch()
    {
        var resnetStage1 = new ConvGeometry(1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1);
        Assert.True(WinogradConv.Pays(resnetStage1, 1));
        Assert.Equal(4, WinogradConv.RuntimeTile(resnetStage1));
        var narrow = new ConvGeometry(1, 32, 56, 56, 32, 3, 3, 1, 1, 1, 1);
        var strided = resnetStage1 with { SH = 2, SW = 2 };
        var small = new ConvGeometry(1, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1);
        Assert.Equal(2, WinogradConv.RuntimeTile(small));
        foreach (var g in new[] { narrow, strided })
            Assert.DoesNotContain(Enumerable.Range(1, 64), b => WinogradConv.Pays(g, b));
        Assert.False(WinogradConv.Pays(small, 1));
        bool seen = false;
        for (int b = 1; b <= 64; b++) // monotone: once a batch pays, every larger one does
        {
            bool pays = WinogradConv.Pays(small, b);
            Assert.True(pays || !seen, $"batch {b} stopped paying");
            seen |= pays;
        }
        Assert.True(seen);
    }
}

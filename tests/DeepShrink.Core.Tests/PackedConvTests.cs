using DeepShrink.Core.Kernels;
using static DeepShrink.Core.Tests.ConvTestUtil;

namespace DeepShrink.Core.Tests;

/// <summary>The packed-weight GEMM and the fused inference convolution against their references, on every SIMD level here.</summary>
public class PackedConvTests
{
    private static SimdLevel[] Available() =>
        new[] { SimdLevel.Scalar, SimdLevel.Vector256Fma, SimdLevel.Vector512 }.Where(l => l <= CpuFeatures.Level).ToArray();

    public static TheoryData<SimdLevel> Levels() => new(Available());

    [Theory]
    [MemberData(nameof(Levels))]
    public void Packed_gemm_matches_the_reference_on_row_bands(SimdLevel level)
    {
        var rng = new Rng(7);
        foreach (var (m, n, k) in new[] { (1, 1, 1), (13, 37, 300), (64, 100, 576), (9, 33, 513), (24, 64, 7) })
        {
            var a = Uniform(rng, m * k);
            var packed = new GemmPackedA(a, m, k, level);
            int ldb = (n + 63) / 64 * 64 + 3, ldc = n + 5;
            var b = Uniform(rng, (int)packed.RequiredB(n, ldb));
            var want = new float[m * ldc];
            GemmReference.Sgemm(false, false, m, n, k, 1f, a, k, b, ldb, 0f, want, ldc);
            var got = Nan(m * ldc);
            int split = m > packed.Mr ? packed.Mr : m; // two bands when there is room for them
            packed.Multiply(b, ldb, n, got, ldc, 0, split);
            if (split < m) packed.Multiply(b, ldb, n, got, ldc, split, m);
            for (int i = 0; i < m; i++)
                AssertClose(got.AsSpan(i * ldc, n), want.AsSpan(i * ldc, n), 1e-5 * Math.Sqrt(k), $"{CpuFeatures.Name(level)} m={m} n={n} k={k} row {i}");
            for (int i = 0; i < m; i++)
                Assert.True(got.AsSpan(i * ldc + n, Math.Min(5, got.Length - i * ldc - n)).ToArray().All(float.IsNaN), "columns past n must stay untouched");
        }
    }

    private static ConvLayout[] Layouts(ConvGeometry g, SimdLevel level) => PackedConv.Supports(g, ConvLayout.Indirect, level)
        ? [ConvLayout.ChannelRows, ConvLayout.PositionRows, ConvLayout.Indirect]
        : [ConvLayout.ChannelRows, ConvLayout.PositionRows];

    public static TheoryData<ConvGeometry> Geometries() => new()
    {
        new ConvGeometry(1, 3, 17, 15, 8, 3, 3, 1, 1, 1, 1),          // 3x3 same
        new ConvGeometry(1, 5, 16, 16, 16, 3, 3, 2, 2, 1, 1),         // 3x3 / 2
        new ConvGeometry(1, 3, 23, 21, 12, 7, 7, 2, 2, 3, 3),         // ResNet stem shape
        new ConvGeometry(1, 8, 9, 9, 24, 1, 1, 2, 2, 0, 0),           // 1x1 / 2 projection
        new ConvGeometry(1, 6, 10, 7, 9, 1, 1),                        // 1x1 / 1
        new ConvGeometry(1, 4, 12, 11, 10, 3, 2, 1, 2, 2, 0, 2, 1),   // dilated, unequal strides and pads
        new ConvGeometry(1, 70, 6, 6, 40, 3, 3, 1, 1, 1, 1),          // deep reduction, tiny plane (channel bands)
        new ConvGeometry(1, 3, 38, 45, 8, 3, 3, 2, 2, 1, 1),          // stride 2 over rows long enough for the vector gather
        new ConvGeometry(1, 4, 36, 70, 8, 1, 1, 2, 2, 0, 0),          // 1x1 / 2, the same
        new ConvGeometry(1, 4, 12, 11, 10, 3, 3, 1, 1, 2, 2, 2, 2),   // stride 1, dilated (indirect offsets step by the dilation)
        new ConvGeometry(1, 5, 13, 30, 40, 3, 3, 1, 1, 1, 1),         // rows not a multiple of 8, channels not of 32
        new ConvGeometry(1, 3, 7, 7, 33, 5, 5, 1, 1, 0, 0),           // 5x5 valid: a 3x3 output, every sliver over-reads its row
        new ConvGeometry(1, 6, 14, 14, 35, 3, 3, 1, 1, 1, 1),         // rows of 14: indirect slivers of 7
        new ConvGeometry(1, 6, 14, 14, 35, 3, 3, 2, 2, 1, 1),         // stride 2 to rows of 7: column phases, slivers of 7
        new ConvGeometry(1, 3, 70, 70, 8, 7, 7, 2, 2, 3, 3),          // stem-like, rows long enough for the vector de-interleave
        new ConvGeometry(1, 4, 20, 37, 9, 3, 3, 3, 3, 1, 1),          // stride 3: three column phases
        new ConvGeometry(1, 3, 9, 28, 8, 3, 3, 2, 2, 1, 1),           // stride 2 over rows of 28: the 16- and 8-wide de-interleave steps
        new ConvGeometry(1, 2, 5, 57, 8, 3, 3, 2, 2, 1, 1),           // rows of 57: every de-interleave step and a scalar tail
        new ConvGeometry(1, 32, 30, 30, 64, 3, 3, 2, 2, 1, 1),        // input larger than the weights: positions split, each thread pads its rows
        new ConvGeometry(1, 16, 40, 38, 64, 1, 1, 2, 2, 0, 0),        // 1x1 / 2 copying only the inputs read, positions split
        new ConvGeometry(1, 40, 15, 13, 96, 1, 1, 2, 3, 0, 0),        // 1x1, unequal strides, odd plane (8 x 5), channel blocks
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Forward_matches_the_reference_with_bias_residual_and_relu(ConvGeometry one)
    {
        foreach (var level in Available())
            foreach (int batch in new[] { 1, 3 })
                foreach (bool fused in new[] { false, true })
                {
                    var rng = new Rng((ulong)(batch * 31 + one.C));
                    var g = one with { N = batch };
                    var x = Uniform(rng, g.InputSize);
                    var w = Uniform(rng, g.WeightSize);
                    var bias = fused ? Uniform(rng, g.O) : [];
                    var residual = fused ? Uniform(rng, g.OutputSize) : [];
                    var want = new float[g.OutputSize];
                    ConvReference.Forward(g, x, w, bias, want);
                    for (int i = 0; i < want.Length && fused; i++) want[i] = MathF.Max(0f, want[i] + residual[i]);
                    foreach (var layout in Layouts(one, level))
                    {
                        var conv = new PackedConv(one, w, bias, level, layout);
                        Assert.Equal(layout, conv.Layout);
                        foreach (int threads in new[] { 1, 2 })
                        {
                            var got = Nan(g.OutputSize);
                            conv.Forward(batch, x, got, residual, relu: fused, threads);
                            AssertClose(got, want, 2e-6 * Math.Sqrt(g.GroupK), $"{CpuFeatures.Name(level)} batch {batch} threads {threads} fused {fused} layout {layout}");
                        }
                    }
                }
    }

    [Fact]
    public void Successive_calls_on_new_inputs_never_reuse_a_threads_earlier_padded_copy()
    {
        // channel blocks shared out over threads: each thread pads its own copy of the input once per call
        var g = new ConvGeometry(1, 24, 9, 9, 128, 3, 3, 1, 1, 1, 1);
        var other = new ConvGeometry(1, 24, 9, 9, 96, 3, 3, 1, 1, 1, 1);
        var rng = new Rng(11);
        var w = Uniform(rng, g.WeightSize);
        var w2 = Uniform(rng, other.WeightSize);
        foreach (var layout in Layouts(g, Gemm.Isa))
        {
            var conv = new PackedConv(g, w, [], null, layout);
            var conv2 = new PackedConv(other, w2, [], null, layout);
            for (int call = 0; call < 4; call++)
            {
                var x = Uniform(rng, g.InputSize);
                var want = new float[g.OutputSize];
                ConvReference.Forward(g, x, w, [], want);
                var got = Nan(g.OutputSize);
                conv.Forward(1, x, got, [], relu: false, threads: 2);
                AssertClose(got, want, 2e-6 * Math.Sqrt(g.GroupK), $"call {call} layout {layout}");
                var between = new float[other.OutputSize]; // another conv on the same threads in between
                conv2.Forward(1, Uniform(rng, other.InputSize), between, [], relu: false, threads: 2);
            }
        }
    }

    [Theory]
    [InlineData(16, 20, 64, 3, 1)] // weights the larger operand: channel blocks
    [InlineData(32, 30, 64, 3, 2)] // input the larger: positions, each thread padding its rows
    [InlineData(16, 40, 64, 1, 2)] // 1x1 / 2: positions, each thread copying its inputs
    public void Results_do_not_depend_on_the_thread_count(int c, int hw, int o, int k, int stride)
    {
        var g = new ConvGeometry(2, c, hw, hw, o, k, k, stride, stride, k / 2, k / 2);
        var rng = new Rng(3);
        var x = Uniform(rng, g.InputSize);
        var w = Uniform(rng, g.WeightSize);
        var bias = Uniform(rng, g.O);
        foreach (var layout in Layouts(g, Gemm.Isa))
        {
            var conv = new PackedConv(g, w, bias, null, layout);
            var one = new float[g.OutputSize];
            conv.Forward(2, x, one, [], relu: true, threads: 1);
            foreach (int t in new[] { 2, 3, 4 })
            {
                var y = new float[g.OutputSize];
                conv.Forward(2, x, y, [], relu: true, threads: t);
                Assert.True(one.AsSpan().SequenceEqual(y), $"{t} threads changed the result (layout {layout})");
            }
        }
    }

    [Fact]
    public void Bad_input_gives_clear_errors()
    {
        var g = new ConvGeometry(1, 4, 8, 8, 4, 3, 3, groups: 2);
        var e = Assert.Throws<ArgumentException>(() => new PackedConv(g, new float[g.WeightSize], []));
        Assert.Contains("groups = 1", e.Message);
        var ok = new ConvGeometry(1, 4, 8, 8, 4, 3, 3);
        var conv = new PackedConv(ok, new float[ok.WeightSize], []);
        Assert.Throws<ArgumentException>(() => conv.Forward(1, new float[5], new float[ok.OutputSize], [], false, 1));
        Assert.Throws<ArgumentException>(() => new GemmPackedA(new float[3], 2, 2));
    }
}

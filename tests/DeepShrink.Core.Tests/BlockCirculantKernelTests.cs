using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

/// <summary>
/// <see cref="BlockCirculantKernels"/> against the explicit dense matrix of <see cref="BlockCirculantReference"/>
/// in float64: forward, input gradient and block gradient for full circulant and block grids, with and
/// without sign flips, batch 1 to 64; thread-count independence; clear errors. Re-run on the AVX2 and
/// scalar paths by the ISA fallback tests.
/// </summary>
public class BlockCirculantKernelTests
{
    public static TheoryData<int, int, int, int, bool> Cases => new()
    {
        // p, q, b, batch, signs
        { 1, 1, 1, 1, false },
        { 1, 1, 2, 3, true },
        { 1, 1, 8, 1, false },
        { 1, 1, 64, 1, true },
        { 1, 1, 64, 64, true },
        { 2, 3, 4, 5, false },
        { 3, 2, 16, 4, true },
        { 4, 4, 32, 2, true },
        { 1, 1, 1024, 2, true },
        { 2, 1, 512, 64, false },
        { 1, 1, 12, 3, true },
        { 2, 3, 5, 4, false },
        { 1, 1, 100, 64, true },
    };

    internal static float[] Random(Rng rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = 2f * rng.NextFloat() - 1f;
        return a;
    }

    internal static float[] Signs(Rng rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = rng.NextFloat() < 0.5f ? -1f : 1f;
        return a;
    }

    internal static void AssertClose(ReadOnlySpan<float> actual, double[] expected, double relTol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 1;
        foreach (double e in expected) scale = Math.Max(scale, Math.Abs(e));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= relTol * scale,
                $"{what}[{i}]: {actual[i]:G7} vs reference {expected[i]:G7} (tolerance {relTol * scale:G3})");
    }

    [Theory, MemberData(nameof(Cases))]
    public void Forward_and_backward_match_the_dense_reference(int p, int q, int b, int batch, bool useSigns)
    {
        var rng = new Rng((ulong)(p * 1000003 + q * 1009 + b * 17 + batch));
        var shape = new BlockCirculantShape(p, q, b);
        var x = Random(rng, batch * shape.In);
        var w = Random(rng, shape.Parameters);
        var d = useSigns ? Signs(rng, shape.In) : [];
        var dy = Random(rng, batch * shape.Out);
        double tol = 2e-6 * (Math.Log2(b) + 2) * Math.Sqrt(q + batch);

        var y = new float[batch * shape.Out];
        BlockCirculantKernels.Forward(shape, batch, x, w, d, y);
        AssertClose(y, BlockCirculantReference.Forward(shape, batch, x, w, d), tol, "y");

        var dx = new float[batch * shape.In];
        var dw = new float[shape.Parameters];
        BlockCirculantKernels.Backward(shape, batch, x, w, d, dy, dx, dw);
        AssertClose(dx, BlockCirculantReference.InputGradient(shape, batch, w, d, dy), tol, "dx");
        AssertClose(dw, BlockCirculantReference.BlockGradient(shape, batch, x, d, dy), tol, "dw");

        // Each gradient alone gives the same values as both together.
        var dxOnly = new float[dx.Length];
        BlockCirculantKernels.Backward(shape, batch, x, w, d, dy, dxOnly, default);
        Assert.Equal(dx, dxOnly);
        var dwOnly = new float[dw.Length];
        BlockCirculantKernels.Backward(shape, batch, x, w, d, dy, default, dwOnly);
        Assert.Equal(dw, dwOnly);
    }

    [Fact]
    public void Cached_spectra_give_the_same_output_as_the_plain_forward()
    {
        var rng = new Rng(77);
        var shape = new BlockCirculantShape(3, 2, 32);
        var x = Random(rng, 4 * shape.In); var w = Random(rng, shape.Parameters); var d = Signs(rng, shape.In);
        var spectra = new float[shape.OutBlocks * shape.InBlocks * shape.SpectrumFloats];
        BlockCirculantKernels.WeightSpectra(shape, w, spectra);
        var a = new float[4 * shape.Out]; var b = new float[4 * shape.Out];
        BlockCirculantKernels.Forward(shape, 4, x, w, d, a);
        BlockCirculantKernels.ForwardSpectra(shape, 4, x, spectra, d, b);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        var rng = new Rng(78);
        var shape = new BlockCirculantShape(4, 4, 64);
        const int batch = 64;
        var x = Random(rng, batch * shape.In); var w = Random(rng, shape.Parameters); var d = Signs(rng, shape.In);
        var dy = Random(rng, batch * shape.Out);
        float[] Run(int threads, out float[] dx, out float[] dw)
        {
            var y = new float[batch * shape.Out];
            BlockCirculantKernels.Forward(shape, batch, x, w, d, y, threads);
            dx = new float[batch * shape.In]; dw = new float[shape.Parameters];
            BlockCirculantKernels.Backward(shape, batch, x, w, d, dy, dx, dw, threads);
            return y;
        }
        var y1 = Run(1, out var dx1, out var dw1);
        var y4 = Run(4, out var dx4, out var dw4);
        Assert.Equal(y1, y4); Assert.Equal(dx1, dx4); Assert.Equal(dw1, dw4);
    }

    [Fact]
    public void Bad_shapes_and_buffers_give_clear_errors()
    {
        var e1 = Assert.Throws<ArgumentException>(() => new BlockCirculantShape(1, 1, 0));
        Assert.Contains("not supported by the FFT", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => BlockCirculantShape.ForMatrix(100, 64, 64));
        Assert.Contains("must divide", e2.Message);
        var shape = new BlockCirculantShape(1, 2, 8);
        var e3 = Assert.Throws<ArgumentException>(() => BlockCirculantKernels.Forward(shape, 1, new float[15], new float[16], default, new float[8]));
        Assert.Contains("x has 15 elements, expected 16", e3.Message);
        Assert.Throws<ArgumentException>(() => BlockCirculantKernels.Forward(shape, 1, new float[16], new float[16], new float[8], new float[8]));
    }
}

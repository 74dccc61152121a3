using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Core.Kernels;
using static DeepShrink.Core.Tests.ConvTestUtil;

namespace DeepShrink.Core.Tests;

/// <summary>Transposed convolution: kernels against the scatter reference, gradients against finite differences.</summary>
public class ConvTransposeTests
{
    private static readonly int[][] s_geometries =
    [
        // n, c, h, w, o, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, oph, opw, groups
        [2, 3, 4, 5, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1],   // plain
        [2, 2, 4, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1],   // stride 2, pads, output padding (direct path)
        [1, 4, 3, 4, 6, 3, 2, 2, 3, 0, 1, 2, 0, 1, 1, 0, 2, 2],   // asymmetric pads, groups 2, rectangular stride (full path)
        [2, 3, 3, 3, 3, 3, 3, 1, 2, 1, 0, 1, 1, 2, 1, 0, 1, 3],   // depthwise, dilation along H
        [1, 2, 5, 4, 2, 2, 2, 2, 2, 3, 0, 0, 3, 1, 1, 1, 0, 1],   // large one-sided crop
        [1, 2, 2, 2, 4, 1, 1, 3, 3, 0, 0, 0, 0, 1, 1, 2, 2, 1],   // 1x1 kernel, zero rows between taps, output padding past the full output
    ];

    public static TheoryData<int[]> Geometries => new(s_geometries);

    private static ConvTransposeGeometry Geo(int[] p, int? n = null)
        => new(n ?? p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15], p[16], p[17]);

    private static ConvTransposeAttrs Attrs(int[] p) => new(p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15], p[16], p[17]);

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Kernels_MatchReference(int[] p)
    {
        var g = Geo(p);
        var rng = new Rng(5);
        float[] x = Uniform(rng, g.InputSize), w = Uniform(rng, g.WeightSize), b = Uniform(rng, g.O), dy = Uniform(rng, g.OutputSize);
        float[] y = Nan(g.OutputSize), yr = new float[g.OutputSize];
        ConvTransposeKernels.Forward(g, x, w, b, y, threads: 2);
        ConvTransposeReference.Forward(g, x, w, b, yr);
        AssertClose(y, yr, 1e-5, "forward");
        float[] dx = Nan(g.InputSize), dw = Nan(g.WeightSize), db = Nan(g.O);
        float[] dxr = new float[g.InputSize], dwr = new float[g.WeightSize], dbr = new float[g.O];
        ConvTransposeKernels.Backward(g, x, w, dy, dx, dw, db, threads: 2);
        ConvTransposeReference.Backward(g, x, w, dy, dxr, dwr, dbr);
        AssertClose(dx, dxr, 1e-5, "dx");
        AssertClose(dw, dwr, 1e-5, "dw");
        AssertClose(db, dbr, 1e-5, "db");
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Op_GradientsMatchFiniteDifferences(int[] p)
    {
        var g = Geo(p, n: 1);
        var rng = new Rng(9);
        var x = Leaf(rng, g.N, g.C, g.H, g.W);
        var w = Leaf(rng, g.C, g.OPerGroup, g.KH, g.KW);
        var b = Leaf(rng, g.O);
        var a = Attrs(p);
        AssertGrad(t => Ops.ConvTranspose2d(t[0], t[1], t[2], a), x, w, b);
    }

    [Fact]
    public void Forward_IsTheAdjointOfConvolution()
    {
        // <conv(u), v> = <u, convT(v)> for the same weight, stride, pad, dilation and groups.
        var rng = new Rng(21);
        var cg = new ConvGeometry(2, 4, 9, 8, 6, 3, 3, 2, 2, 1, 1, 1, 1, 2);
        float[] u = Uniform(rng, cg.InputSize), w = Uniform(rng, cg.WeightSize), v = Uniform(rng, cg.OutputSize);
        var cy = new float[cg.OutputSize];
        ConvKernels.Forward(cg, u, w, default, cy);
        // transposed: input channels = conv outputs (6), output channels = conv inputs (4); weight [6, 4/2, 3, 3] is the conv weight
        var tg = new ConvTransposeGeometry(2, 6, cg.OH, cg.OW, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, cg.H - ((cg.OH - 1) * 2 + 3 - 2), cg.W - ((cg.OW - 1) * 2 + 3 - 2), 2);
        Assert.Equal((cg.H, cg.W), (tg.OH, tg.OW));
        var ty = new float[tg.OutputSize];
        ConvTransposeKernels.Forward(tg, v, w, default, ty);
        double lhs = 0, rhs = 0;
        for (int i = 0; i < cy.Length; i++) lhs += (double)cy[i] * v[i];
        for (int i = 0; i < ty.Length; i++) rhs += (double)u[i] * ty[i];
        Assert.Equal(lhs, rhs, 3);
    }

    [Fact]
    public void FullPath_InImageChunks_MatchesReference()
    {
        // asymmetric pads (full-output path), 5 images, scratch for 2 images at a time: chunks 2 + 2 + 1
        var g = new ConvTransposeGeometry(5, 4, 3, 4, 6, 3, 2, 2, 3, 0, 1, 2, 0, 1, 1, 0, 2, 2);
        g.Adjoint(out bool direct);
        Assert.False(direct);
        long chunk = 2L * g.O * g.FullH * g.FullW;
        var rng = new Rng(33);
        float[] x = Uniform(rng, g.InputSize), w = Uniform(rng, g.WeightSize), b = Uniform(rng, g.O), dy = Uniform(rng, g.OutputSize);
        float[] y = Nan(g.OutputSize), yr = new float[g.OutputSize];
        ConvTransposeKernels.Forward(g, x, w, b, y, threads: 1, chunkElements: chunk);
        ConvTransposeReference.Forward(g, x, w, b, yr);
        AssertClose(y, yr, 1e-5, "forward");
        float[] dx = Nan(g.InputSize), dw = Nan(g.WeightSize), dxr = new float[g.InputSize], dwr = new float[g.WeightSize];
        ConvTransposeKernels.Backward(g, x, w, dy, dx, dw, default, threads: 1, chunkElements: chunk);
        ConvTransposeReference.Backward(g, x, w, dy, dxr, dwr, default);
        AssertClose(dx, dxr, 1e-5, "dx");
        AssertClose(dw, dwr, 1e-5, "dw");
    }

    [Fact]
    public void HugeFullOutput_IsRefusedBeforeAllocating()
    {
        // stride 40000 on a 3x3 input, cropped to 1x1 by the pads: the full output would be 120001^2 per channel
        var e = Assert.Throws<ArgumentException>(() => new ConvTransposeGeometry(1, 2, 4, 4, 2, 1, 1, 40000, 40000, 60000, 60000, 60000, 60000));
        Assert.Contains("exceed", e.Message);
    }

    [Fact]
    public void Geometries_CoverBothPaths()
    {
        var paths = s_geometries.Select(p => { Geo(p).Adjoint(out bool direct); return direct; }).ToArray();
        Assert.Contains(true, paths);
        Assert.Contains(false, paths);
    }

    [Fact]
    public void Value_MatchesHandComputation()
    {
        // 1x1x2x2 input [1 2; 3 4], 2x2 kernel of ones, stride 2: each input spreads over its own 2x2 block.
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 1, 1, 2, 2);
        var y = Ops.ConvTranspose2d(x, Tensor.Ones(1, 1, 2, 2), Tensor.Full(0.5f, 1), new ConvTransposeAttrs(2, 2, 0, 0, 0, 0, 1, 1, 0, 0, 1));
        Assert.Equal([1, 1, 4, 4], y.Shape);
        Assert.Equal(new[] { 1.5f, 1.5f, 2.5f, 2.5f, 1.5f, 1.5f, 2.5f, 2.5f, 3.5f, 3.5f, 4.5f, 4.5f, 3.5f, 3.5f, 4.5f, 4.5f }, y.ToArray());
        // crop one row at the top, one column at the right; one output-padding row at the bottom (bias only)
        var z = Ops.ConvTranspose2d(x, Tensor.Ones(1, 1, 2, 2), null, new ConvTransposeAttrs(2, 2, 1, 0, 0, 1, 1, 1, 1, 0, 1));
        Assert.Equal([1, 1, 4, 3], z.Shape);
        Assert.Equal(new[] { 1f, 1f, 2f, 3f, 3f, 4f, 3f, 3f, 4f, 0f, 0f, 0f }, z.ToArray());
    }

    [Fact]
    public void BadShapes_AreRefusedWithOneLine()
    {
        var x = new Tensor(1, 4, 3, 3);
        var e = Assert.Throws<ArgumentException>(() => Ops.ConvTranspose2d(x, new Tensor(3, 2, 3, 3), null, new ConvTransposeAttrs(1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1)));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Throws<ArgumentException>(() => new ConvTransposeGeometry(1, 2, 2, 2, 2, 3, 3, pt: 3, pb: 3));
    }
}

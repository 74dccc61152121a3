using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

public class Int8ConvGemmTests
{
    /// <summary>Geometries: LeNet-5's two convolutions, padding, stride, dilation, one channel, k not a multiple of 4, plane tails.</summary>
    public static TheoryData<int, int, int, int, int, int, int, int, int, int> Geometries() => new()
    {
        // c, h, w, o, kh, kw, stride, pad, dilation, images
        { 1, 28, 28, 6, 5, 5, 1, 2, 1, 2 },
        { 6, 14, 14, 16, 5, 5, 1, 0, 1, 2 },
        { 3, 9, 7, 17, 3, 3, 2, 1, 1, 3 },
        { 2, 11, 13, 9, 3, 2, 1, 2, 2, 1 },
        { 5, 4, 4, 3, 1, 1, 1, 0, 1, 2 },
        { 1, 3, 3, 1, 3, 3, 3, 4, 1, 1 },  // padding wider than the kernel reach: rows and columns entirely padding
        { 4, 8, 8, 8, 4, 4, 2, 1, 1, 2 },
    };

    [Theory, MemberData(nameof(Geometries))]
    public void Matches_the_direct_integer_convolution(int c, int h, int w, int o, int kh, int kw, int stride, int pad, int dilation, int images)
    {
        var g = new ConvGeometry(images, c, h, w, o, kh, kw, stride, stride, pad, pad, dilation, dilation);
        var rng = new Rng((ulong)(31 + c * 7 + o));
        var x = new byte[g.InputSize];
        for (int i = 0; i < x.Length; i++) x[i] = (byte)rng.NextInt(256);
        int k = c * kh * kw;
        var wt = new sbyte[o * k];
        for (int i = 0; i < wt.Length; i++) wt[i] = (sbyte)(rng.NextInt(256) - 128);
        wt[0] = -128; // the extremes of both operands
        x[0] = 255;
        const byte padCode = 77;
        var panels = Int8RowPanels.Pack(o, k, wt, k);
        int plane = g.OutPlane, ld = Int8ConvGemm.PaddedColumns(plane) + 5;
        var scratch = new byte[Int8ConvGemm.ScratchLength(g)];
        var packed = new byte[Int8ConvGemm.PackedLength(plane, k)];
        var acc = new int[Int8ConvGemm.PaddedRows(o) * ld];
        for (int img = 0; img < images; img++)
        {
            Array.Fill(scratch, (byte)0xAB); // stale scratch must not leak into the result
            Int8ConvGemm.PackImage(g, x, img, padCode, scratch, packed);
            Int8ConvGemm.Multiply(panels, packed, plane, acc, ld);
            for (int oc = 0; oc < o; oc++)
                for (int oy = 0; oy < g.OH; oy++)
                    for (int ox = 0; ox < g.OW; ox++)
                    {
                        int want = 0;
                        for (int ch = 0; ch < c; ch++)
                            for (int ky = 0; ky < kh; ky++)
                                for (int kx = 0; kx < kw; kx++)
                                {
                                    int iy = oy * stride - pad + ky * dilation, ix = ox * stride - pad + kx * dilation;
                                    int u = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[((img * c + ch) * h + iy) * w + ix] : padCode;
                                    want += u * wt[oc * k + (ch * kh + ky) * kw + kx];
                                }
                        int got = acc[oc * ld + oy * g.OW + ox];
                        Assert.True(want == got, $"{Int8ConvGemm.PathName} image {img} channel {oc} at ({oy},{ox}): {want} vs {got}");
                    }
        }
    }

    [Fact]
    public void Packed_weights_unpack_to_the_original_rows()
    {
        var rng = new Rng(9);
        const int n = 37, k = 23;
        var w = new sbyte[n * k];
        for (int i = 0; i < w.Length; i++) w[i] = (sbyte)(rng.NextInt(256) - 128);
        Assert.Equal(w, Int8PackedWeights.Pack(n, k, w, k).Unpack());
    }

    [Fact]
    public void Row_requantisation_matches_the_elementwise_definition()
    {
        var rng = new Rng(10);
        var acc = new int[37];
        for (int i = 0; i < acc.Length; i++) acc[i] = rng.NextInt(2_000_000) - 1_000_000;
        var got = new float[acc.Length];
        Int8Requantize.RowToFloat(acc, 12345, 3.7e-5f, -0.25f, got);
        for (int i = 0; i < acc.Length; i++) Assert.Equal(QuantReference.RequantizeValue(acc[i], 12345, 3.7e-5f, -0.25f), got[i]);
    }

    [Fact]
    public void Bad_buffers_are_rejected()
    {
        var g = new ConvGeometry(1, 1, 5, 5, 2, 3, 3);
        var panels = Int8RowPanels.Pack(2, 9, new sbyte[18], 9);
        var x = new byte[25];
        Assert.Throws<ArgumentException>(() => Int8ConvGemm.PackImage(g, x, 0, 0, new byte[1], new byte[Int8ConvGemm.PackedLength(9, 9)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Int8ConvGemm.PackImage(g, x, 1, 0, new byte[Int8ConvGemm.ScratchLength(g)], new byte[Int8ConvGemm.PackedLength(9, 9)]));
        Assert.Throws<ArgumentException>(() => Int8ConvGemm.Multiply(panels, new byte[Int8ConvGemm.PackedLength(9, 9)], 9, new int[8 * 32], 16));
        Assert.Throws<ArgumentException>(() => Int8ConvGemm.Multiply(panels, new byte[3], 9, new int[8 * 32], 32));
    }
}

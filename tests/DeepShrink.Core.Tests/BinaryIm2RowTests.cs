using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

public class BinaryIm2RowTests
{
    public static TheoryData<int, int, int, int, int, int, int, int, int, bool> Geometries() => new()
    {
        // c, h, w, o, kh, kw, stride, pad, dilation, with zeros
        { 20, 12, 12, 50, 5, 5, 1, 0, 1, false }, // LeNet-5's conv2 (20 -> 50 channels, 8x8 out, k = 500)
        { 2, 6, 6, 4, 3, 3, 1, 1, 1, true },
        { 4, 6, 6, 3, 3, 3, 2, 1, 1, false },      // padding alone brings zeros in
        { 3, 9, 70, 9, 3, 3, 1, 1, 1, true },      // bitmap rows wider than one word
        { 2, 11, 13, 9, 3, 2, 2, 2, 2, true },     // dilation: bit by bit
        { 1, 5, 5, 2, 5, 5, 1, 0, 1, true },       // k = 25 < 64: only a tail word
    };

    [Theory, MemberData(nameof(Geometries))]
    public void Xnor_gemm_on_unfolded_bits_equals_the_direct_convolution(int c, int h, int w, int o, int kh, int kw, int stride, int pad, int dilation, bool withZeros)
    {
        var g = new ConvGeometry(1, c, h, w, o, kh, kw, stride, stride, pad, pad, dilation, dilation);
        var rng = new Rng((ulong)(11 + c * 5 + w));
        var x = new float[c * h * w];
        for (int i = 0; i < x.Length; i++) x[i] = withZeros && rng.NextInt(7) == 0 ? 0f : rng.NextInt(2) == 0 ? -1f : 1f;
        int k = c * kh * kw, words = BinaryPack.WordsFor(k), plane = g.OutPlane;
        var wt = new float[o * k];
        for (int i = 0; i < wt.Length; i++) wt[i] = rng.NextInt(2) == 0 ? -1f : 1f;
        var packed = XnorPackedWeights.FromSigns(o, k, wt).PermuteColumns(BinaryIm2Row.WeightOrder(g));
        var bitmap = new ulong[BinaryIm2Row.BitmapLength(g)];
        var rows = new ulong[BinaryIm2Row.RowsLength(g)];
        Array.Fill(rows, 0xDEADBEEFUL); // stale words must not survive
        var c1 = new int[plane * o];
        var c2 = new int[plane * o];
        bool zeros = BinaryIm2Row.Binarize(g, x, strict: false, bitmap);
        Assert.Equal(withZeros || pad > 0, zeros);
        BinaryIm2Row.Unfold(g, bitmap, rows);
        XnorGemm.Multiply(plane, rows, words, packed, c1, o);
        BinaryIm2Row.Binarize(g, x, strict: true, bitmap);
        BinaryIm2Row.Unfold(g, bitmap, rows);
        XnorGemm.Multiply(plane, rows, words, packed, c2, o);
        for (int oy = 0; oy < g.OH; oy++)
            for (int ox = 0; ox < g.OW; ox++)
                for (int j = 0; j < o; j++)
                {
                    int want = 0;
                    for (int ch = 0; ch < c; ch++)
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int iy = oy * stride - pad + ky * dilation, ix = ox * stride - pad + kx * dilation;
                                float v = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[(ch * h + iy) * w + ix] : 0f;
                                want += (int)(v * wt[j * k + (ch * kh + ky) * kw + kx]);
                            }
                    int pos = oy * g.OW + ox, got = zeros ? (c1[pos * o + j] + c2[pos * o + j]) / 2 : c1[pos * o + j];
                    Assert.True(want == got, $"({oy},{ox}) channel {j}: {want} vs {got}");
                }
    }

    [Fact]
    public void Permuted_columns_move_every_bit_and_bad_orders_are_rejected()
    {
        var rng = new Rng(3);
        const int n = 11, k = 130;
        var w = new float[n * k];
        for (int i = 0; i < w.Length; i++) w[i] = rng.NextInt(2) == 0 ? -1f : 1f;
        var order = Enumerable.Range(0, k).Select(p => (p * 7 + 3) % k).ToArray(); // 7 is coprime to 130
        var moved = XnorPackedWeights.FromSigns(n, k, w).PermuteColumns(order);
        var expected = new float[n * k];
        for (int j = 0; j < n; j++) for (int p = 0; p < k; p++) expected[j * k + p] = w[j * k + order[p]];
        Assert.Equal(XnorPackedWeights.FromSigns(n, k, expected).Data.ToArray(), moved.Data.ToArray());
        var twice = (int[])order.Clone();
        twice[1] = twice[0];
        Assert.Throws<ArgumentException>(() => moved.PermuteColumns(twice));
        Assert.Throws<ArgumentException>(() => moved.PermuteColumns(order.AsSpan(1)));
    }

    [Fact]
    public void Non_binary_inputs_and_short_buffers_are_rejected()
    {
        var g = new ConvGeometry(1, 1, 4, 4, 1, 3, 3);
        var x = new float[16];
        x[5] = 0.5f;
        var bitmap = new ulong[BinaryIm2Row.BitmapLength(g)];
        Assert.Throws<ArgumentException>(() => BinaryIm2Row.Binarize(g, x, false, bitmap));
        Assert.Throws<ArgumentException>(() => BinaryIm2Row.Binarize(g, new float[16], false, new ulong[0]));
        Assert.Throws<ArgumentException>(() => BinaryIm2Row.Unfold(g, bitmap, new ulong[1]));
    }
}

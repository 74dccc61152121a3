using System.Numerics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// im2row for binary convolutions (BNN, XNOR-Net): unfolds one image of {-1, 0, +1} activations straight into
/// the bit rows [OH OW, WordsFor(C KH KW)] that <see cref="XnorGemm"/> multiplies, without a float im2col.
/// The bits of a row are in (ky, kx, c) order - channels last - and the weights must be packed in the same
/// order (<see cref="WeightOrder"/> with <see cref="XnorPackedWeights.PermuteColumns"/>); a dot product does
/// not care about the order as long as both sides agree.
/// </summary>
/// <remarks>
/// Two passes: <see cref="Binarize"/> turns the image into a channels-last bitmap [H + 2 PH][(W + 2 PW) C bits]
/// (bit = x &gt;= 0, or x &gt; 0 when strict; padding counts as a 0 input), then <see cref="Unfold"/> copies, per
/// position and kernel row, one run of KW C contiguous bits (KW runs of C bits when dilated) - 5 bit-string copies
/// per position for LeNet-5's conv2 instead of 500 float compares. A 0 input has no bit: as in the runtime's XNOR
/// matrix, the exact dot product is the mean of the products of the non-strict and the strict bits, needed only
/// when zeros occur.
/// </remarks>
public static class BinaryIm2Row
{
    /// <summary>Words per padded bitmap row ((W + 2 PW) C bits).</summary>
    private static int RowWords(in ConvGeometry g) => BinaryPack.WordsFor((g.W + 2 * g.PW) * g.C);

    /// <summary>Words of the padded bitmap of one image.</summary>
    public static int BitmapLength(in ConvGeometry g) => (g.H + 2 * g.PH) * RowWords(g);

    /// <summary>Words of the unfolded bit rows of one image.</summary>
    public static int RowsLength(in ConvGeometry g) => g.OutPlane * BinaryPack.WordsFor(Im2Col.Rows(g));

    /// <summary>
    /// order[p'] = p: row bit p' of <see cref="Unfold"/> ((ky KW + kx) C + c) holds weight column p ((c KH + ky) KW + kx).
    /// </summary>
    public static int[] WeightOrder(in ConvGeometry g)
    {
        var order = new int[Im2Col.Rows(g)];
        for (int ky = 0; ky < g.KH; ky++)
            for (int kx = 0; kx < g.KW; kx++)
                for (int c = 0; c < g.C; c++)
                    order[(ky * g.KW + kx) * g.C + c] = (c * g.KH + ky) * g.KW + kx;
        return order;
    }

    /// <summary>
    /// Binarizes image [C, H, W] into the channels-last padded bitmap; returns true when a zero input takes part
    /// (a real 0, or any padding). Values other than -1, 0, +1 are an error.
    /// </summary>
    public static bool Binarize(in ConvGeometry g, ReadOnlySpan<float> image, bool strict, Span<ulong> bitmap)
    {
        g.Validate();
        if (g.Groups != 1) throw new ArgumentException("binary im2row: grouped convolutions are not supported");
        ConvGeometry.CheckLength(image.Length, g.C * g.H * g.W, "image", $"[{g.C}, {g.H}, {g.W}]");
        if (bitmap.Length < BitmapLength(g)) throw new ArgumentException($"bitmap has {bitmap.Length} words, needs {BitmapLength(g)}", nameof(bitmap));
        int wpr = RowWords(g), hp = g.H + 2 * g.PH, c = g.C, w = g.W;
        ulong padWord = strict ? 0UL : ulong.MaxValue; // a padded 0: 0 >= 0 but not 0 > 0
        bool zeros = g.PH > 0 || g.PW > 0, bad = false;
        for (int yp = 0; yp < hp; yp++)
        {
            var row = bitmap.Slice(yp * wpr, wpr);
            int iy = yp - g.PH;
            if ((uint)iy >= (uint)g.H) { row.Fill(padWord); continue; }
            row.Clear();
            if (!strict)
            {
                SetRun(row, 0, g.PW * c);
                SetRun(row, (g.PW + w) * c, g.PW * c);
            }
            for (int ch = 0; ch < c; ch++)
            {
                var src = image.Slice((ch * g.H + iy) * w, w);
                for (int ix0 = 0; ix0 < w; ix0 += 64)
                {
                    var t = BinaryPack.Ternary(src.Slice(ix0, Math.Min(64, w - ix0)));
                    zeros |= t.Zeros;
                    bad |= t.Bad;
                    for (ulong on = strict ? t.Gt : t.Geq; on != 0; on &= on - 1) // pixel ix lands at bit (PW + ix) C + ch
                    {
                        int b = (g.PW + ix0 + BitOperations.TrailingZeroCount(on)) * c + ch;
                        row[b >> 6] |= 1UL << (b & 63);
                    }
                }
            }
        }
        if (bad) throw new ArgumentException("binary im2row needs inputs in {-1, 0, +1} (a binary input transform must precede it)");
        return zeros;
    }

    /// <summary>Sets <paramref name="count"/> bits from <paramref name="start"/>.</summary>
    private static void SetRun(Span<ulong> words, int start, int count)
    {
        for (int b = start; b < start + count; b++) words[b >> 6] |= 1UL << (b & 63);
    }

    /// <summary>
    /// Unfolds a bitmap from <see cref="Binarize"/> into rows[OH OW, WordsFor(C KH KW)] (overwritten; bits past k are 0):
    /// bit (ky KW + kx) C + c of row oy OW + ox = the input at (c, oy SH + ky DH, ox SW + kx DW).
    /// </summary>
    public static unsafe void Unfold(in ConvGeometry g, ReadOnlySpan<ulong> bitmap, Span<ulong> rows)
    {
        g.Validate();
        if (bitmap.Length < BitmapLength(g)) throw new ArgumentException($"bitmap has {bitmap.Length} words, needs {BitmapLength(g)}", nameof(bitmap));
        if (rows.Length < RowsLength(g)) throw new ArgumentException($"rows has {rows.Length} words, needs {RowsLength(g)}", nameof(rows));
        int wpr = RowWords(g), words = BinaryPack.WordsFor(Im2Col.Rows(g)), c = g.C, kw = g.KW;
        rows[..RowsLength(g)].Clear();
        fixed (ulong* pb = bitmap, pr = rows)
        {
            for (int oy = 0; oy < g.OH; oy++)
                for (int ox = 0; ox < g.OW; ox++)
                {
                    ulong* dst = pr + (long)(oy * g.OW + ox) * words;
                    for (int ky = 0; ky < g.KH; ky++)
                    {
                        ulong* src = pb + (long)(oy * g.SH + ky * g.DH) * wpr;
                        if (g.DW == 1) CopyBits(src, ox * g.SW * c, dst, ky * kw * c, kw * c);
                        else
                            for (int kx = 0; kx < kw; kx++)
                                CopyBits(src, (ox * g.SW + kx * g.DW) * c, dst, (ky * kw + kx) * c, c);
                    }
                }
        }
    }

    /// <summary>ORs <paramref name="count"/> bits of src from bit <paramref name="from"/> into dst at bit <paramref name="to"/>.</summary>
    private static unsafe void CopyBits(ulong* src, int from, ulong* dst, int to, int count)
    {
        while (count > 0)
        {
            int n = Math.Min(64, count), w = from >> 6, s = from & 63;
            ulong v = src[w] >> s;
            if (s != 0 && s + n > 64) v |= src[w + 1] << (64 - s);
            if (n < 64) v &= (1UL << n) - 1;
            int dw = to >> 6, ds = to & 63;
            dst[dw] |= v << ds;
            if (ds != 0 && ds + n > 64) dst[dw + 1] |= v >> (64 - ds);
            from += n; to += n; count -= n;
        }
    }
}

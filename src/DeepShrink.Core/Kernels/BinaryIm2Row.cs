using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// im2row for binary convolutions (BNN, XNOR-Net): unfolds one image of {-1, 0, +1} activations straight into
/// the bit rows [OH OW, WordsFor(C KH KW)] that <see cref="XnorGemm"/> multiplies, without a float im2col.
/// </summary>
/// <remarks>
/// Two passes: <see cref="Binarize"/> turns the image into a bitmap padded by PH rows and PW columns (bit = x &gt;= 0,
/// or x &gt; 0 when strict; padding counts as a 0 input), then <see cref="Unfold"/> copies each (channel, kernel row)
/// window as one run of KW bits (a shift and a mask when the dilation is 1), so a row of k bits costs C KH
/// appends instead of k float compares. A 0 input has no bit: as in the runtime's XNOR matrix, the exact dot
/// product is the mean of the products of the non-strict and the strict bits, needed only when zeros occur.
/// </remarks>
public static class BinaryIm2Row
{
    /// <summary>Words per padded bitmap row.</summary>
    private static int RowWords(in ConvGeometry g) => BinaryPack.WordsFor(g.W + 2 * g.PW);

    /// <summary>Words of the padded bitmap of one image.</summary>
    public static int BitmapLength(in ConvGeometry g) => g.C * (g.H + 2 * g.PH) * RowWords(g);

    /// <summary>Words of the unfolded bit rows of one image.</summary>
    public static int RowsLength(in ConvGeometry g) => g.OutPlane * BinaryPack.WordsFor(Im2Col.Rows(g));

    /// <summary>
    /// Binarizes image [C, H, W] into the padded bitmap [C, H + 2 PH, RowWords]; returns true when a zero
    /// input takes part (a real 0, or any padding). Values other than -1, 0, +1 are an error.
    /// </summary>
    public static bool Binarize(in ConvGeometry g, ReadOnlySpan<float> image, bool strict, Span<ulong> bitmap)
    {
        g.Validate();
        if (g.Groups != 1) throw new ArgumentException("binary im2row: grouped convolutions are not supported");
        ConvGeometry.CheckLength(image.Length, g.C * g.H * g.W, "image", $"[{g.C}, {g.H}, {g.W}]");
        if (bitmap.Length < BitmapLength(g)) throw new ArgumentException($"bitmap has {bitmap.Length} words, needs {BitmapLength(g)}", nameof(bitmap));
        int wpr = RowWords(g), hp = g.H + 2 * g.PH, wp = g.W + 2 * g.PW;
        ulong padWord = strict ? 0UL : ulong.MaxValue; // a padded 0: 0 >= 0 but not 0 > 0
        bool zeros = g.PH > 0 || g.PW > 0, bad = false;
        for (int c = 0; c < g.C; c++)
            for (int yp = 0; yp < hp; yp++)
            {
                var row = bitmap.Slice((c * hp + yp) * wpr, wpr);
                int iy = yp - g.PH;
                if ((uint)iy >= (uint)g.H) { row.Fill(padWord); continue; }
                row.Clear();
                if (!strict) { SetBits(row, 0, g.PW, ulong.MaxValue); SetBits(row, g.PW + g.W, wp - g.PW - g.W, ulong.MaxValue); }
                var src = image.Slice((c * g.H + iy) * g.W, g.W);
                int ix = 0;
                if (Vector256.IsHardwareAccelerated)
                    for (; ix + 8 <= g.W; ix += 8)
                    {
                        var v = Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(src), (nuint)ix);
                        var zero = Vector256.Equals(v, Vector256<float>.Zero);
                        bad |= (~(zero | Vector256.Equals(Vector256.Abs(v), Vector256<float>.One))).ExtractMostSignificantBits() != 0;
                        zeros |= zero.ExtractMostSignificantBits() != 0;
                        var on = strict ? Vector256.GreaterThan(v, Vector256<float>.Zero) : Vector256.GreaterThanOrEqual(v, Vector256<float>.Zero);
                        SetBits(row, g.PW + ix, 8, on.ExtractMostSignificantBits());
                    }
                for (; ix < g.W; ix++)
                {
                    float v = src[ix];
                    bad |= v != 0f && MathF.Abs(v) != 1f;
                    zeros |= v == 0f;
                    if (strict ? v > 0f : v >= 0f) SetBits(row, g.PW + ix, 1, 1);
                }
            }
        if (bad) throw new ArgumentException("binary im2row needs inputs in {-1, 0, +1} (a binary input transform must precede it)");
        return zeros;
    }

    /// <summary>ORs the low <paramref name="count"/> bits of <paramref name="bits"/> into the bit string at <paramref name="start"/> (count &lt;= 64).</summary>
    private static void SetBits(Span<ulong> words, int start, int count, ulong bits)
    {
        if (count <= 0) return;
        if (count < 64) bits &= (1UL << count) - 1;
        int w = start >> 6, s = start & 63;
        words[w] |= bits << s;
        if (s + count > 64) words[w + 1] |= bits >> (64 - s);
    }

    /// <summary>
    /// Unfolds a bitmap from <see cref="Binarize"/> into rows[OH OW, WordsFor(C KH KW)] (overwritten; bits past k are 0),
    /// bit (c KH + ky) KW + kx of row oy OW + ox = the bitmap at (c, oy SH + ky DH, ox SW + kx DW).
    /// </summary>
    /// <remarks>
    /// Loop order: for each (c, ky) the destination bit offset is the same in every row, and along a bitmap row the
    /// KW-bit windows of neighbouring positions are shifts of one another, so the inner loop is a shift, a mask and
    /// one or two ORs per position.
    /// </remarks>
    public static unsafe void Unfold(in ConvGeometry g, ReadOnlySpan<ulong> bitmap, Span<ulong> rows)
    {
        g.Validate();
        if (bitmap.Length < BitmapLength(g)) throw new ArgumentException($"bitmap has {bitmap.Length} words, needs {BitmapLength(g)}", nameof(bitmap));
        if (rows.Length < RowsLength(g)) throw new ArgumentException($"rows has {rows.Length} words, needs {RowsLength(g)}", nameof(rows));
        int wpr = RowWords(g), hp = g.H + 2 * g.PH, words = BinaryPack.WordsFor(Im2Col.Rows(g));
        int oh = g.OH, ow = g.OW, kw = g.KW, sw = g.SW, dw = g.DW;
        bool runs = dw == 1 && kw <= 64;
        ulong mask = kw >= 64 ? ulong.MaxValue : (1UL << kw) - 1;
        rows[..RowsLength(g)].Clear();
        fixed (ulong* pb = bitmap, pr = rows)
        {
            for (int c = 0; c < g.C; c++)
                for (int ky = 0; ky < g.KH; ky++)
                {
                    int cursor = (c * g.KH + ky) * kw, w = cursor >> 6, s = cursor & 63;
                    bool spill = s + kw > 64;
                    for (int oy = 0; oy < oh; oy++)
                    {
                        ulong* src = pb + (long)(c * hp + oy * g.SH + ky * g.DH) * wpr;
                        ulong* dst = pr + (long)oy * ow * words + w;
                        for (int ox = 0; ox < ow; ox++, dst += words)
                        {
                            ulong v;
                            if (runs) v = Bits(src, ox * sw, kw) & mask;
                            else
                            {
                                v = 0;
                                for (int kx = 0; kx < kw; kx++) v |= (Bits(src, ox * sw + kx * dw, 1) & 1) << kx;
                            }
                            dst[0] |= v << s;
                            if (spill) dst[1] |= v >> (64 - s);
                        }
                    }
                }
        }
    }

    /// <summary>The bits of the string at <paramref name="start"/>, low bit first (at least <paramref name="count"/> &lt;= 64 valid).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static unsafe ulong Bits(ulong* words, int start, int count)
    {
        int w = start >> 6, s = start & 63;
        ulong v = words[w] >> s;
        if (s != 0 && s + count > 64) v |= words[w + 1] << (64 - s);
        return v;
    }
}

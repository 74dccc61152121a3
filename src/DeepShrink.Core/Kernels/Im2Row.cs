namespace DeepShrink.Core.Kernels;

/// <summary>
/// im2row for quantised convolutions: unfolds 8-bit activation codes into one patch per row, the
/// A operand layout of <see cref="Int8Gemm"/> (rows contiguous along k = C KH KW).
/// </summary>
/// <remarks>
/// rows[i OH OW + oy OW + ox, (c KH + ky) KW + kx] = x[img0 + i, c, oy SH - PH + ky DH, ox SW - PW + kx DW],
/// and <c>pad</c> outside the image. This is the transpose of <see cref="Im2Col"/>'s column matrix; the
/// padding value is the activation zero point (the code of real 0), so zero padding stays exact after
/// the zero-point correction. Groups are not split: a grouped convolution uses k ranges of a row.
/// </remarks>
public static class Im2Row
{
    /// <summary>Unfolds images [img0, img0 + imgs) of u8 codes into <paramref name="rows"/> (overwritten).</summary>
    public static void PackUInt8(in ConvGeometry g,
        ReadOnlySpan<byte> x,    // [N, C, H, W]
        int img0, int imgs, byte pad,
        Span<byte> rows)         // [imgs OH OW, C KH KW]
    {
        g.Validate();
        ConvGeometry.CheckLength(x.Length, g.InputSize, "image tensor", g.InputShapeText);
        if (img0 < 0 || imgs < 0 || img0 + imgs > g.N)
            throw new ArgumentOutOfRangeException(nameof(imgs), $"im2row: images [{img0}, {img0 + imgs}) outside batch of {g.N}");
        int k = Im2Col.Rows(g), plane = g.OutPlane, planeIn = g.H * g.W;
        long need = (long)imgs * plane * k;
        if (rows.Length < need) throw new ArgumentException($"im2row: rows has {rows.Length} elements, needs {need} ([{(long)imgs * plane}, {k}])");
        int oh = g.OH, ow = g.OW, h = g.H, w = g.W, c = g.C, kh = g.KH, kw = g.KW;
        bool contiguous = g.DW == 1;
        for (int i = 0; i < imgs; i++)
        {
            var image = x.Slice((img0 + i) * c * planeIn, c * planeIn);
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    var row = rows.Slice(((i * oh + oy) * ow + ox) * k, k);
                    int ix0 = ox * g.SW - g.PW;
                    // kx range whose input column lies inside [0, w)
                    int kxLo = ix0 >= 0 ? 0 : Math.Min(kw, (-ix0 + g.DW - 1) / g.DW);
                    int kxHi = Math.Clamp((w - ix0 + g.DW - 1) / g.DW, kxLo, kw);
                    for (int ch = 0; ch < c; ch++)
                        for (int ky = 0; ky < kh; ky++)
                        {
                            var dst = row.Slice((ch * kh + ky) * kw, kw);
                            int iy = oy * g.SH - g.PH + ky * g.DH;
                            if ((uint)iy >= (uint)h) { dst.Fill(pad); continue; }
                            var src = image.Slice(ch * planeIn + iy * w);
                            dst[..kxLo].Fill(pad);
                            if (contiguous) src.Slice(ix0 + kxLo, kxHi - kxLo).CopyTo(dst[kxLo..kxHi]);
                            else for (int kx = kxLo; kx < kxHi; kx++) dst[kx] = src[ix0 + kx * g.DW];
                            dst[kxHi..].Fill(pad);
                        }
                }
        }
    }
}

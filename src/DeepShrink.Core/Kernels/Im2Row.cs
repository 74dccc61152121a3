using System.Runtime.CompilerServices;

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
public static unsafe class Im2Row
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
        fixed (byte* px = x, pr = rows) Run(g, px, pr, img0, imgs, pad);
    }

    private static unsafe void Run(ConvGeometry g, byte* x, byte* rows, int img0, int imgs, byte pad)
    {
        int oh = g.OH, ow = g.OW, h = g.H, w = g.W, c = g.C, kh = g.KH, kw = g.KW, sw = g.SW, dw = g.DW, planeIn = h * w, k = c * kh * kw;
        for (int i = 0; i < imgs; i++)
        {
            byte* image = x + (long)(img0 + i) * c * planeIn;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    byte* row = rows + ((long)(i * oh + oy) * ow + ox) * k;
                    int ix0 = ox * sw - g.PW;
                    // kx range whose input column lies inside [0, w)
                    int kxLo = ix0 >= 0 ? 0 : Math.Min(kw, (-ix0 + dw - 1) / dw);
                    int kxHi = Math.Clamp((w - ix0 + dw - 1) / dw, kxLo, kw);
                    for (int ch = 0; ch < c; ch++)
                        for (int ky = 0; ky < kh; ky++, row += kw)
                        {
                            int iy = oy * g.SH - g.PH + ky * g.DH;
                            if ((uint)iy >= (uint)h) { Unsafe.InitBlockUnaligned(row, pad, (uint)kw); continue; }
                            byte* src = image + ch * planeIn + iy * w + ix0;
                            int kx = 0;
                            for (; kx < kxLo; kx++) row[kx] = pad;
                            if (dw == 1) { Unsafe.CopyBlockUnaligned(row + kxLo, src + kxLo, (uint)(kxHi - kxLo)); kx = kxHi; }
                            else for (; kx < kxHi; kx++) row[kx] = src[kx * dw];
                            for (; kx < kw; kx++) row[kx] = pad;
                        }
                }
        }
    }
}

using System.Runtime.CompilerServices;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// im2col for a run of output positions of one image (a column segment of the column matrix), so a convolution
/// can unfold and multiply a cache-sized piece at a time instead of the whole [K, OH OW] matrix.
/// </summary>
/// <remarks>
/// Row r = (c, ky, kx) of the segment holds, for output positions q in [q0, q0 + cols) with q = oy OW + ox,
/// <c>x[c, oy SH - PH + ky DH, ox SW - PW + kx DW]</c> (zero outside the image), the column layout of
/// <see cref="Im2Col"/> (Chellapilla, Puri and Simard, 2006). Columns [cols, ld) of every row are zeroed so a
/// GEMM reading whole tiles sees finite values there. Groups are not handled (groups = 1 only).
/// </remarks>
internal static unsafe class Im2ColSegment
{
    /// <summary>
    /// Fills dst [C KH KW, ld] from image x [C, H, W] for output positions [q0, q0 + cols); columns [cols, ld) of
    /// each row are zeroed unless <paramref name="keepTail"/> (another piece fills them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(in ConvGeometry g, float* x, int q0, int cols, float* dst, int ld, bool keepTail = false)
    {
        int ow = g.OW, h = g.H, w = g.W, plane = h * w;
        int oyFirst = q0 / ow, oyLast = (q0 + cols - 1) / ow;
        float* row = dst;
        for (int c = 0; c < g.C; c++)
        {
            float* xc = x + (long)c * plane;
            for (int ky = 0; ky < g.KH; ky++)
                for (int kx = 0; kx < g.KW; kx++, row += ld)
                {
                    int dx = kx * g.DW - g.PW;
                    // output columns whose input column lies inside the image: ox SW + dx in [0, W)
                    int oxA = dx >= 0 ? 0 : (-dx + g.SW - 1) / g.SW;
                    int oxB = Math.Min(ow, w - 1 - dx < 0 ? 0 : (w - 1 - dx) / g.SW + 1);
                    float* d = row;
                    for (int oy = oyFirst; oy <= oyLast; oy++)
                    {
                        int from = oy == oyFirst ? q0 - oy * ow : 0;
                        int to = oy == oyLast ? q0 + cols - oy * ow : ow;
                        int iy = oy * g.SH - g.PH + ky * g.DH;
                        if ((uint)iy >= (uint)h)
                        {
                            new Span<float>(d, to - from).Clear();
                            d += to - from;
                            continue;
                        }
                        float* src = xc + (long)iy * w + dx;
                        int a = Math.Clamp(oxA, from, to), bnd = Math.Clamp(oxB, a, to);
                        for (int ox = from; ox < a; ox++) *d++ = 0f;
                        if (g.SW == 1)
                        {
                            new ReadOnlySpan<float>(src + a, bnd - a).CopyTo(new Span<float>(d, bnd - a));
                            d += bnd - a;
                        }
                        else
                            for (int ox = a; ox < bnd; ox++) *d++ = src[ox * g.SW];
                        for (int ox = bnd; ox < to; ox++) *d++ = 0f;
                    }
                    if (ld > cols && !keepTail) new Span<float>(row + cols, ld - cols).Clear();
                }
        }
    }
}

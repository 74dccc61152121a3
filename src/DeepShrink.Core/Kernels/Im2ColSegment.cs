using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
        if (IsSameStride1(g))
        {
            PackShifted(g, x, q0, cols, dst, ld, keepTail);
            return;
        }
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
                        {
                            int ox = a;
                            if (g.SW == 2) ox = EvenColumns(src, ox, Math.Min(bnd, (w - 2 - dx) / 2 + 1), ref d); // loads end at column 2 ox + dx + 1 < W
                            for (; ox < bnd; ox++) *d++ = src[ox * g.SW];
                        }
                        for (int ox = bnd; ox < to; ox++) *d++ = 0f;
                    }
                    if (ld > cols && !keepTail) new Span<float>(row + cols, ld - cols).Clear();
                }
        }
    }

    /// <summary>Stride 1, no dilation, output plane = input plane ("same" padding): every unfolded row is a shifted plane.</summary>
    private static bool IsSameStride1(in ConvGeometry g) =>
        g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 && g.OH == g.H && g.OW == g.W;

    /// <summary>
    /// The same-padding, stride-1 case: row (c, ky, kx) at position q = oy W + ox is x[c] flattened at
    /// q + (ky - PH) W + (kx - PW), so each row is one contiguous copy; then the positions whose input row is outside the
    /// image (before or after the plane) and whose input column wrapped into the neighbouring row are zeroed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackShifted(in ConvGeometry g, float* x, int q0, int cols, float* dst, int ld, bool keepTail)
    {
        int w = g.W, plane = g.H * w, q1 = q0 + cols;
        int oyFirst = q0 / w, oyLast = (q1 - 1) / w;
        float* row = dst;
        for (int c = 0; c < g.C; c++)
        {
            float* xc = x + (long)c * plane;
            for (int ky = 0; ky < g.KH; ky++)
                for (int kx = 0; kx < g.KW; kx++, row += ld)
                {
                    int dxs = kx - g.PW, shift = (ky - g.PH) * w + dxs;
                    int qa = Math.Clamp(-shift, q0, q1), qb = Math.Clamp(plane - shift, qa, q1);
                    new Span<float>(row, qa - q0).Clear();
                    new ReadOnlySpan<float>(xc + qa + shift, qb - qa).CopyTo(new Span<float>(row + (qa - q0), qb - qa));
                    new Span<float>(row + (qb - q0), q1 - qb).Clear();
                    // columns whose input column ox + dxs left the row: ox < -dxs, or ox >= W - dxs
                    int lo = dxs < 0 ? -dxs : 0, hi = dxs > 0 ? w - dxs : w;
                    for (int oy = oyFirst; oy <= oyLast; oy++)
                    {
                        int rowStart = oy * w;
                        for (int ox = 0; ox < lo; ox++) Zero(row, rowStart + ox, q0, q1);
                        for (int ox = hi; ox < w; ox++) Zero(row, rowStart + ox, q0, q1);
                    }
                    if (ld > cols && !keepTail) new Span<float>(row + cols, ld - cols).Clear();
                }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Zero(float* row, int q, int q0, int q1)
    {
        if (q >= q0 && q < q1) row[q - q0] = 0f;
    }

    /// <summary>Stride-2 gather of whole vectors: d[i] = src[2 (ox + i)] for ox in [from, to), 16 at a time; returns where it stopped.</summary>
    /// <remarks>Two 16-float loads and one two-source permute (vpermt2ps) per 16 outputs; the caller bounds
    /// <paramref name="to"/> so the loads stay inside the input row.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int EvenColumns(float* src, int from, int to, ref float* d)
    {
        int ox = from;
        if (!Avx512F.IsSupported) return ox;
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        for (; ox + 16 <= to; ox += 16, d += 16)
        {
            float* p = src + 2 * ox;
            Avx512F.PermuteVar16x32x2(Vector512.Load(p), even, Vector512.Load(p + 16)).Store(d);
        }
        return ox;
    }
}

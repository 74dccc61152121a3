using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Max pooling without arg-max as two separable passes over a plane (AVX-512, horizontal stride 1 or 2): every input
/// row's horizontal window maxima (16 outputs per vector; stride 2 de-interleaves two loads), then each output row as
/// the first maximum over its window's rows. The 3x3 stride-2 pool after ResNet's stem (112 x 112 -> 56 x 56) reads each
/// input row once instead of three times and needs no arg-max bookkeeping.
/// </summary>
/// <remarks>
/// Bit-identical to the reference's row-major scan with the first-maximum / first-NaN rule: within a row the horizontal
/// pass keeps the first maximum (or first NaN), and across rows the vertical pass keeps the first row holding the
/// window's maximum (or NaN), which is the element the row-major scan ends on. Padding is skipped (clipped windows),
/// as -inf never wins.
/// </remarks>
internal static unsafe class PoolMaxRows
{
    private const int Lanes = 16;

    /// <summary>True when this kernel runs <paramref name="g"/> on this machine.</summary>
    public static bool Applies(in PoolGeometry g) => Avx512F.IsSupported && (g.SW == 1 || g.SW == 2) && g.OW >= Lanes;

    /// <summary>Floats of scratch one plane needs (the horizontal maxima of every input row).</summary>
    public static int ScratchLength(in PoolGeometry g) => g.H * g.OW;

    /// <summary>One [H, W] plane to its [OH, OW] maxima; <paramref name="rows"/> holds <see cref="ScratchLength"/> floats.</summary>
    public static void Plane(in PoolGeometry g, float* x, float* y, float* rows)
    {
        int w = g.W, h = g.H, oh = g.OH, ow = g.OW, kw = g.KW, sw = g.SW, pw = g.PW;
        // outputs [lo, hi) have their whole window, and every lane of their vector loads, inside the row
        int lo = (pw + sw - 1) / sw;
        int lastLoad = sw == 1 ? Lanes - 1 : 2 * Lanes - 1;           // farthest float a block reads past its first column + kx
        int room = w - 1 - (kw - 1) - lastLoad + pw;                    // sw x (the last block start) may be at most this
        int end = room < 0 ? 0 : Math.Min(room / sw + Lanes, ow);      // outputs [lo, end) go in blocks
        bool vector = end - lo >= Lanes;
        for (int iy = 0; iy < h; iy++)
        {
            float* src = x + iy * w, dst = rows + iy * ow;
            int o = 0;
            for (; o < Math.Min(lo, ow); o++) dst[o] = RowMax(src, w, o * sw - pw, kw);
            if (vector)
            {
                // blocks of 16 from lo; a last block ending at end overlaps the previous one (same values)
                for (; o + Lanes <= end; o += Lanes) Block(src, o * sw - pw, kw, sw, dst + o);
                if (o < end) { int s = end - Lanes; Block(src, s * sw - pw, kw, sw, dst + s); o = end; }
            }
            for (; o < ow; o++) dst[o] = RowMax(src, w, o * sw - pw, kw);
        }
        for (int oy = 0; oy < oh; oy++)
        {
            int y0 = oy * g.SH - g.PH, ys = Math.Max(y0, 0), ye = Math.Min(y0 + g.KH, h);
            float* dst = y + oy * ow;
            int o = 0;
            for (; o + Lanes <= ow; o += Lanes) Column(rows, ow, ys, ye, o).Store(dst + o);
            if (o < ow) Column(rows, ow, ys, ye, ow - Lanes).Store(dst + ow - Lanes); // overlapping, same values
        }
    }

    /// <summary>First maximum (or first NaN) of row[x0 .. x0 + kw) clipped to [0, w).</summary>
    private static float RowMax(float* row, int w, int x0, int kw)
    {
        int xs = Math.Max(x0, 0), xe = Math.Min(x0 + kw, w);
        float best = row[xs];
        for (int ix = xs + 1; ix < xe; ix++)
        {
            float v = row[ix];
            if (v > best || (float.IsNaN(v) && !float.IsNaN(best))) best = v;
        }
        return best;
    }

    /// <summary>16 horizontal window maxima whose windows start at columns x0, x0 + sw, ... (all inside the row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block(float* row, int x0, int kw, int sw, float* dst)
    {
        var best = Load(row + x0, sw);
        for (int kx = 1; kx < kw; kx++) best = Take(best, Load(row + x0 + kx, sw));
        best.Store(dst);
    }

    /// <summary>Maxima over rows [ys, ye) of 16 columns from o (first row wins ties).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Column(float* rows, int ow, int ys, int ye, int o)
    {
        var best = Vector512.Load(rows + ys * ow + o);
        for (int iy = ys + 1; iy < ye; iy++) best = Take(best, Vector512.Load(rows + iy * ow + o));
        return best;
    }

    /// <summary>p[0], p[sw], ..., p[15 sw] for sw = 1 or 2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Load(float* p, int sw)
    {
        if (sw == 1) return Vector512.Load(p);
        return Avx512F.PermuteVar16x32x2(Vector512.Load(p), Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), Vector512.Load(p + Lanes));
    }

    /// <summary>v where it beats best (greater, or the first NaN), else best.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Take(Vector512<float> best, Vector512<float> v)
    {
        var take = Vector512.GreaterThan(v, best) | (~Vector512.Equals(v, v) & Vector512.Equals(best, best));
        return Vector512.ConditionalSelect(take, v, best);
    }
}

using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Optimised pooling kernels over NCHW data (max with arg-max indices, average with padding counted as
/// zeros or excluded, global average). <see cref="PoolReference"/> is the specification. Unpadded 2x2 stride-2 max
/// pooling (the usual case) runs <see cref="PoolMax2x2"/>. Work is split over
/// (image, channel) planes, so results do not depend on the thread count.
/// </summary>
public static unsafe class PoolKernels
{
    /// <summary>
    /// Max pooling. <paramref name="argmax"/> (may be empty) receives, per output, the index iy W + ix of
    /// the chosen pixel inside its plane: the first maximum in row-major window order; a NaN wins.
    /// </summary>
    public static void MaxForward(in PoolGeometry g,
        ReadOnlySpan<float> x,   // [N, C, H, W]
        Span<float> y,           // [N, C, OH, OW]
        Span<int> argmax,        // [N, C, OH, OW] or empty
        int threads = 0)
    {
        g.Check(x.Length, y.Length);
        if (argmax.Length != 0 && argmax.Length != y.Length) throw new ArgumentException($"pool: argmax has {argmax.Length} elements, expected {y.Length}");
        var geo = g;
        int inPlane = g.H * g.W, outPlane = g.OH * g.OW;
        bool keep = argmax.Length != 0, twoByTwo = PoolMax2x2.Applies(g);
        bool narrow2x2 = PoolMax2x2.Fits(g) && !twoByTwo;
        if (!keep && (g.PH > 0 || g.PW > 0 || narrow2x2) && (long)(g.H + 2 * g.PH) * Math.Max(g.W + 2 * g.PW, PoolMax2x2.MinWidth) <= MaxPaddedPlane)
        {
            MaxForwardPadded(g, x, y, threads);
            return;
        }
        if (!keep && !twoByTwo && PoolMaxRows.Applies(g))
        {
            MaxForwardRows(g, x, y, threads);
            return;
        }
        fixed (float* px = x, py = y)
        fixed (int* pa = argmax)
        {
            float* xp = px, yp = py; int* ap = pa;
            ConvParallel.For(g.Planes, threads, inPlane, (s, e) =>
            {
                for (int pl = s; pl < e; pl++)
                {
                    float* xi = xp + (long)pl * inPlane, yi = yp + (long)pl * outPlane;
                    int* ai = keep ? ap + (long)pl * outPlane : null;
                    if (twoByTwo) PoolMax2x2.Plane(xi, yi, ai, geo.W, geo.OH, geo.OW);
                    else MaxPlane(geo, xi, yi, ai);
                }
            });
        }
    }

    /// <summary>Largest padded plane (floats, on the stack) for which padded max pooling copies the plane first.</summary>
    private const int MaxPaddedPlane = 8192;

    /// <summary>
    /// Max pooling without arg-max over padded planes: each plane is copied into a buffer bordered by -inf, and the
    /// unpadded kernel runs on it, so every output has its whole window inside the buffer and takes the vector path
    /// (small planes such as 16 x 16 -> 8 x 8 otherwise spend most outputs in the clipped scalar path, 10x slower).
    /// Same values as the clipped window: -inf never beats a value (nor a NaN), and ties keep the first occurrence.
    /// </summary>
    /// <remarks>
    /// Unpadded 2x2 stride-2 planes narrower than <see cref="PoolMax2x2.MinWidth"/> (7 x 7 -> 3 x 3 in vgg-small) are widened
    /// the same way, with -inf columns on the right: the extra outputs they add are computed and dropped.
    /// </remarks>
    private static void MaxForwardPadded(in PoolGeometry g, ReadOnlySpan<float> x, Span<float> y, int threads)
    {
        int h = g.H, w = g.W, hp = h + 2 * g.PH, wp = w + 2 * g.PW, inPlane = h * w, oh = g.OH, ow = g.OW, outPlane = oh * ow;
        if (PoolMax2x2.Fits(g)) wp = Math.Max(wp, PoolMax2x2.MinWidth);
        var padded = new PoolGeometry(1, 1, hp, wp, g.KH, g.KW, g.SH, g.SW);
        bool twoByTwo = PoolMax2x2.Applies(padded);
        int ph = g.PH, pw = g.PW, owp = padded.OW;
        fixed (float* px = x, py = y)
        {
            float* xp = px, yp = py;
            ConvParallel.For(g.Planes, threads, inPlane, (s, e) =>
            {
                float* buf = stackalloc float[hp * wp];
                float* wide = stackalloc float[owp > ow ? oh * owp : 1]; // the widened plane's outputs, when it has extra ones
                new Span<float>(buf, hp * wp).Fill(float.NegativeInfinity);
                for (int pl = s; pl < e; pl++)
                {
                    float* xi = xp + (long)pl * inPlane;
                    for (int r = 0; r < h; r++)
                        new ReadOnlySpan<float>(xi + r * w, w).CopyTo(new Span<float>(buf + (r + ph) * wp + pw, w));
                    float* yi = yp + (long)pl * outPlane, dst = owp > ow ? wide : yi;
                    if (twoByTwo) PoolMax2x2.Plane(buf, dst, null, wp, padded.OH, owp);
                    else MaxPlane(padded, buf, dst, null);
                    if (owp > ow)
                        for (int r = 0; r < oh; r++) new ReadOnlySpan<float>(wide + r * owp, ow).CopyTo(new Span<float>(yi + r * ow, ow));
                }
            });
        }
    }

    /// <summary>Max pooling without arg-max over larger planes by separable row passes (<see cref="PoolMaxRows"/>).</summary>
    private static void MaxForwardRows(in PoolGeometry g, ReadOnlySpan<float> x, Span<float> y, int threads)
    {
        var geo = g;
        int inPlane = g.H * g.W, outPlane = g.OH * g.OW, scratch = PoolMaxRows.ScratchLength(g);
        fixed (float* px = x, py = y)
        {
            float* xp = px, yp = py;
            ConvParallel.For(g.Planes, threads, inPlane, (s, e) =>
            {
                float[] rows = System.Buffers.ArrayPool<float>.Shared.Rent(scratch);
                try
                {
                    fixed (float* r = rows)
                        for (int pl = s; pl < e; pl++) PoolMaxRows.Plane(geo, xp + (long)pl * inPlane, yp + (long)pl * outPlane, r);
                }
                finally { System.Buffers.ArrayPool<float>.Shared.Return(rows); }
            });
        }
    }

    /// <summary>Max-pool backward: dx (overwritten) receives each dy at its recorded arg-max (overlaps add).</summary>
    public static void MaxBackward(in PoolGeometry g,
        ReadOnlySpan<float> dy,     // [N, C, OH, OW]
        ReadOnlySpan<int> argmax,   // [N, C, OH, OW]
        Span<float> dx,             // [N, C, H, W]
        int threads = 0)
    {
        g.Check(dx.Length, dy.Length, "dx", "dy");
        if (argmax.Length != dy.Length) throw new ArgumentException($"pool: argmax has {argmax.Length} elements, expected {dy.Length}");
        int inPlane = g.H * g.W, outPlane = g.OH * g.OW;
        foreach (int idx in argmax)
            if ((uint)idx >= (uint)inPlane) throw new ArgumentException($"pool: argmax index {idx} outside a plane of {inPlane} pixels");
        fixed (float* pdy = dy, pdx = dx)
        fixed (int* pa = argmax)
        {
            float* dyp = pdy, dxp = pdx; int* ap = pa;
            ConvParallel.For(g.Planes, threads, inPlane, (s, e) =>
            {
                for (int pl = s; pl < e; pl++)
                {
                    float* d = dxp + (long)pl * inPlane, src = dyp + (long)pl * outPlane;
                    int* a = ap + (long)pl * outPlane;
                    new Span<float>(d, inPlane).Clear();
                    for (int j = 0; j < outPlane; j++) d[a[j]] += src[j];
                }
            });
        }
    }

    /// <summary>Average pooling; padded positions count as zeros and the divisor is always KH KW.</summary>
    public static void AvgForward(in PoolGeometry g,
        ReadOnlySpan<float> x,   // [N, C, H, W]
        Span<float> y,           // [N, C, OH, OW]
        int threads = 0)
        => AvgForward(g, x, y, countIncludePad: true, threads);

    /// <summary>
    /// Average pooling. With <paramref name="countIncludePad"/> the divisor is always KH KW (padding counts as
    /// zeros); without it each window is divided by the number of real pixels it covers (ONNX count_include_pad = 0).
    /// </summary>
    public static void AvgForward(in PoolGeometry g,
        ReadOnlySpan<float> x,   // [N, C, H, W]
        Span<float> y,           // [N, C, OH, OW]
        bool countIncludePad,
        int threads = 0)
    {
        g.Check(x.Length, y.Length);
        fixed (float* px = x, py = y) AvgRun(g, px, py, backward: false, countIncludePad, threads);
    }

    /// <summary>Average-pool backward: dx (overwritten) = sum over windows holding each pixel of dy / (KH KW).</summary>
    public static void AvgBackward(in PoolGeometry g,
        ReadOnlySpan<float> dy,  // [N, C, OH, OW]
        Span<float> dx,          // [N, C, H, W]
        int threads = 0)
        => AvgBackward(g, dy, dx, countIncludePad: true, threads);

    /// <summary>Average-pool backward: dx (overwritten) = sum over windows holding each pixel of dy / divisor, the
    /// divisor being KH KW or, without <paramref name="countIncludePad"/>, the window's count of real pixels.</summary>
    public static void AvgBackward(in PoolGeometry g,
        ReadOnlySpan<float> dy,  // [N, C, OH, OW]
        Span<float> dx,          // [N, C, H, W]
        bool countIncludePad,
        int threads = 0)
    {
        g.Check(dx.Length, dy.Length, "dx", "dy");
        fixed (float* pdy = dy, pdx = dx) AvgRun(g, pdx, pdy, backward: true, countIncludePad, threads);
    }

    private static void AvgRun(PoolGeometry g, float* img /* [N, C, H, W] */, float* o /* [N, C, OH, OW] */, bool backward, bool includePad, int threads)
    {
        int inPlane = g.H * g.W, outPlane = g.OH * g.OW;
        ConvParallel.For(g.Planes, threads, inPlane, (s, e) =>
        {
            for (int pl = s; pl < e; pl++) AvgPlane(g, img + (long)pl * inPlane, o + (long)pl * outPlane, backward, includePad);
        });
    }

    /// <summary>Global average pooling: y[p] = mean of plane p of x.</summary>
    public static void GlobalAvgForward(int planes, int planeSize,
        ReadOnlySpan<float> x,   // [planes, planeSize]
        Span<float> y)           // [planes]
    {
        CheckGlobal(planes, planeSize, x.Length, y.Length);
        float inv = 1f / planeSize;
        for (int p = 0; p < planes; p++) y[p] = TensorPrimitives.Sum(x.Slice(p * planeSize, planeSize)) * inv;
    }

    /// <summary>Global average pooling backward: dx[p, :] = dy[p] / planeSize.</summary>
    public static void GlobalAvgBackward(int planes, int planeSize,
        ReadOnlySpan<float> dy,  // [planes]
        Span<float> dx)          // [planes, planeSize]
    {
        CheckGlobal(planes, planeSize, dx.Length, dy.Length);
        float inv = 1f / planeSize;
        for (int p = 0; p < planes; p++) dx.Slice(p * planeSize, planeSize).Fill(dy[p] * inv);
    }

    internal static void CheckGlobal(int planes, int planeSize, int xLen, int yLen)
    {
        if (planes < 0 || planeSize < 1) throw new ArgumentException($"global pool: invalid sizes planes={planes} planeSize={planeSize}");
        if (xLen != (long)planes * planeSize) throw new ArgumentException($"global pool: input has {xLen} elements, expected {planes} x {planeSize}");
        if (yLen != planes) throw new ArgumentException($"global pool: output has {yLen} elements, expected {planes}");
    }

    private static void MaxPlane(in PoolGeometry g, float* x /* [H, W] */, float* y /* [OH, OW] */, int* arg /* [OH, OW] or null */)
    {
        int w = g.W, h = g.H, oh = g.OH, ow = g.OW, kh = g.KH, kw = g.KW, sh = g.SH, sw = g.SW, ph = g.PH, pw = g.PW;
        const int L = PoolMaxVector.Lanes, L2 = PoolMaxVector.HalfLanes;
        // Outputs [vecLo, vecHi) have their whole horizontal window, and every vector load, inside the row.
        bool simd = PoolMaxVector.Supported(sw);
        int vecLo = (pw + sw - 1) / sw, vecHi = simd ? PoolMaxVector.LastStart(w, kw, sw, pw, L) + 1 : -1;
        // Narrow planes: two output rows per block, 4 outputs each, at vecLo and (overlapping) ow - 4.
        bool pairs = simd && ow < L && ow - vecLo >= L2 && ow - L2 <= PoolMaxVector.LastStart(w, kw, sw, pw, L2);
        for (int oy = 0; oy < oh; oy++)
        {
            int y0 = oy * sh - ph, ys = Math.Max(y0, 0), ye = Math.Min(y0 + kh, h);
            float* yr = y + oy * ow;
            int* ar = arg == null ? null : arg + oy * ow;
            if (pairs && oy + 1 < oh && y0 >= 0 && y0 + sh + kh <= h)
            {
                for (int ox = 0; ox < vecLo; ox++)
                    for (int r = 0; r < 2; r++)
                        MaxOne(x, w, ys + r * sh, ye + r * sh, ox * sw - pw, kw, yr + r * ow + ox, ar == null ? null : ar + r * ow + ox);
                PoolMaxVector.Block(x, w, ys, ye, vecLo * sw - pw, kw, sw, sh * w, yr + vecLo, ar == null ? null : ar + vecLo, ow);
                int tail = ow - L2;
                if (tail > vecLo) PoolMaxVector.Block(x, w, ys, ye, tail * sw - pw, kw, sw, sh * w, yr + tail, ar == null ? null : ar + tail, ow);
                oy++;
                continue;
            }
            int o = 0, firstVec = Math.Min(vecLo, ow);
            for (; o < firstVec; o++) MaxOne(x, w, ys, ye, o * sw - pw, kw, yr + o, ar == null ? null : ar + o);
            for (; o + L <= ow && o < vecHi; o += L)
                PoolMaxVector.Block(x, w, ys, ye, o * sw - pw, kw, sw, 0, yr + o, ar == null ? null : ar + o, 0);
            int last = ow - L; // one more block ending at the row end, overlapping (same values)
            if (o < ow && o > vecLo && last >= vecLo && last < vecHi)
            {
                PoolMaxVector.Block(x, w, ys, ye, last * sw - pw, kw, sw, 0, yr + last, ar == null ? null : ar + last, 0);
                o = ow;
            }
            for (; o < ow; o++) MaxOne(x, w, ys, ye, o * sw - pw, kw, yr + o, ar == null ? null : ar + o);
        }
    }

    /// <summary>One max-pool output over rows [ys, ye) and columns [x0, x0 + kw) clipped to the image.</summary>
    private static void MaxOne(float* x, int w, int ys, int ye, int x0, int kw, float* y, int* arg)
    {
        int xs = Math.Max(x0, 0), xe = Math.Min(x0 + kw, w);
        int best = ys * w + xs;
        float bv = x[best];
        for (int iy = ys; iy < ye; iy++)
        {
            float* row = x + iy * w;
            for (int ix = xs; ix < xe; ix++)
            {
                // take when v > best, or v is the first NaN; branch-free (random data mispredicts).
                float v = row[ix];
                bool take = (v > bv) | (float.IsNaN(v) & !float.IsNaN(bv));
                int mask = -Unsafe.BitCast<bool, byte>(take);
                best = ((iy * w + ix) & mask) | (best & ~mask);
                bv = BitConverter.Int32BitsToSingle((BitConverter.SingleToInt32Bits(v) & mask) | (BitConverter.SingleToInt32Bits(bv) & ~mask));
            }
        }
        *y = bv;
        if (arg != null) *arg = best;
    }

    /// <summary>Forward: img -> out averages. Backward (<paramref name="backward"/>): out is dy, img is dx.</summary>
    private static void AvgPlane(in PoolGeometry g, float* img /* [H, W] */, float* o /* [OH, OW] */, bool backward, bool includePad)
    {
        int w = g.W, h = g.H, oh = g.OH, ow = g.OW, kh = g.KH, kw = g.KW, sh = g.SH, sw = g.SW, ph = g.PH, pw = g.PW;
        float full = 1f / (kh * kw), inv = full;
        if (backward) new Span<float>(img, h * w).Clear();
        for (int oy = 0; oy < oh; oy++)
        {
            int y0 = oy * sh - ph, ys = Math.Max(y0, 0), ye = Math.Min(y0 + kh, h);
            for (int ox = 0; ox < ow; ox++)
            {
                int x0 = ox * sw - pw, xs = Math.Max(x0, 0), xe = Math.Min(x0 + kw, w);
                if (!includePad) inv = 1f / ((ye - ys) * (xe - xs));
                if (backward)
                {
                    float d = o[oy * ow + ox] * inv;
                    for (int iy = ys; iy < ye; iy++)
                        for (int ix = xs; ix < xe; ix++) img[iy * w + ix] += d;
                }
                else
                {
                    float s = 0f;
                    for (int iy = ys; iy < ye; iy++)
                        for (int ix = xs; ix < xe; ix++) s += img[iy * w + ix];
                    o[oy * ow + ox] = s * inv;
                }
            }
        }
    }
}

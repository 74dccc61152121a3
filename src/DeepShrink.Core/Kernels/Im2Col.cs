using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// im2col / col2im for <see cref="ConvGeometry"/>: unfolds a range of images into the column matrix
/// that turns a convolution into one GEMM per group, and folds a column matrix back (adding overlaps).
/// </summary>
/// <remarks>
/// Column matrix layout, for images img0 .. img0 + imgs - 1 (i = image - img0):
/// cols[(c KH + ky) KW + kx, i OH OW + oy OW + ox] = x[img, c, oy SH - PH + ky DH, ox SW - PW + kx DW]
/// (zero outside the image). Rows of one group are contiguous, so group g uses rows
/// [g GroupK, (g + 1) GroupK). Work is split over (image, channel) planes, each owned by one thread.
/// </remarks>
public static unsafe class Im2Col
{
    /// <summary>Rows of the column matrix: C KH KW.</summary>
    public static int Rows(in ConvGeometry g) => g.C * g.KH * g.KW;

    /// <summary>Unfolds images [img0, img0 + imgs) into <paramref name="cols"/> (overwritten).</summary>
    public static void Pack(in ConvGeometry g,
        ReadOnlySpan<float> x,   // [N, C, H, W]
        int img0, int imgs,
        Span<float> cols,        // [C KH KW, imgs OH OW]
        int threads = 0)
    {
        CheckArgs(g, x.Length, img0, imgs, cols.Length);
        fixed (float* px = x, pc = cols) Run(g, px, pc, img0, imgs, unpack: false, threads);
    }

    /// <summary>
    /// Folds <paramref name="cols"/> back into images [img0, img0 + imgs) of <paramref name="dx"/>
    /// (those planes are overwritten with the sum of every column entry that maps to each pixel).
    /// </summary>
    public static void Unpack(in ConvGeometry g,
        ReadOnlySpan<float> cols, // [C KH KW, imgs OH OW]
        int img0, int imgs,
        Span<float> dx,           // [N, C, H, W]
        int threads = 0)
    {
        CheckArgs(g, dx.Length, img0, imgs, cols.Length);
        fixed (float* pd = dx, pc = cols) Run(g, pd, pc, img0, imgs, unpack: true, threads);
    }

    /// <summary>Packs or unpacks every (image, channel) plane of the range; planes are split over threads.</summary>
    private static void Run(ConvGeometry g, float* image /* [N, C, H, W] */, float* cols /* [C KH KW, imgs OH OW] */,
        int img0, int imgs, bool unpack, int threads)
    {
        int ld = imgs * g.OutPlane, planeIn = g.H * g.W, kk = g.KH * g.KW, c = g.C;
        ConvParallel.For(imgs * c, threads, (long)kk * g.OutPlane, (s, e) =>
        {
            for (int u = s; u < e; u++)
            {
                int i = u / c, ch = u % c;
                float* plane = image + (long)((img0 + i) * c + ch) * planeIn, rows = cols + (long)ch * kk * ld + (long)i * g.OutPlane;
                if (unpack) UnpackPlane(g, rows, ld, plane); else PackPlane(g, plane, rows, ld);
            }
        });
    }

    private static void CheckArgs(in ConvGeometry g, int imageLen, int img0, int imgs, int colsLen)
    {
        g.Validate();
        ConvGeometry.CheckLength(imageLen, g.InputSize, "image tensor", g.InputShapeText);
        if (img0 < 0 || imgs < 0 || img0 + imgs > g.N)
            throw new ArgumentOutOfRangeException(nameof(imgs), $"im2col: images [{img0}, {img0 + imgs}) outside batch of {g.N}");
        int ld = imgs * g.OutPlane;
        long need = (long)Rows(g) * ld;
        if (colsLen < need) throw new ArgumentException($"im2col: cols has {colsLen} elements, needs {need} ([{Rows(g)}, {ld}])");
    }

    /// <summary>Output range [lo, hi) whose input coordinate o stride + off lies inside [0, size).</summary>
    private static (int lo, int hi) ValidRange(int off, int stride, int size, int outSize)
    {
        int lo = off >= 0 ? 0 : Math.Min(outSize, (-off + stride - 1) / stride);
        int hi = size - off <= 0 ? 0 : Math.Clamp((size - off + stride - 1) / stride, lo, outSize);
        return (lo, hi);
    }

    private static void PackPlane(in ConvGeometry g, float* src /* [H, W] */, float* dst /* [KH KW, ld] */, int ld)
    {
        // Geometry in locals: stores through float* could otherwise force reloads of g's fields.
        int oh = g.OH, ow = g.OW, h = g.H, w = g.W, sh = g.SH, sw = g.SW, kh = g.KH, kw = g.KW, dh = g.DH, dw = g.DW, ph = g.PH, pw = g.PW;
        for (int ky = 0; ky < kh; ky++)
        {
            int iy0 = ky * dh - ph; // input row of output row oy: oy SH + iy0
            var (oyLo, oyHi) = ValidRange(iy0, sh, h, oh);
            for (int kx = 0; kx < kw; kx++)
            {
                float* d = dst + (long)(ky * kw + kx) * ld;
                int off = kx * dw - pw;
                var (lo, hi) = ValidRange(off, sw, w, ow);
                if (oyLo > 0) new Span<float>(d, oyLo * ow).Clear();
                if (oyHi < oh) new Span<float>(d + oyHi * ow, (oh - oyHi) * ow).Clear();
                float* s = src + (long)(oyLo * sh + iy0) * w + off;
                float* dr = d + oyLo * ow;
                if (sw == 1 && lo == 0 && hi == ow)
                {
                    for (int oy = oyLo; oy < oyHi; oy++, s += sh * w, dr += ow) CopyRow(s, dr, ow);
                    continue;
                }
                for (int oy = oyLo; oy < oyHi; oy++, s += sh * w, dr += ow)
                {
                    for (int ox = 0; ox < lo; ox++) dr[ox] = 0f;
                    if (sw == 1) CopyRow(s + lo, dr + lo, hi - lo);
                    else for (int ox = lo; ox < hi; ox++) dr[ox] = s[ox * sw];
                    for (int ox = hi; ox < ow; ox++) dr[ox] = 0f;
                }
            }
        }
    }

    private static void UnpackPlane(in ConvGeometry g, float* src /* [KH KW, ld] */, int ld, float* dst /* [H, W] */)
    {
        int oh = g.OH, ow = g.OW, h = g.H, w = g.W, sh = g.SH, sw = g.SW, kh = g.KH, kw = g.KW, dh = g.DH, dw = g.DW, ph = g.PH, pw = g.PW;
        new Span<float>(dst, h * w).Clear();
        // kx outermost: consecutive row updates then hit either other rows or exactly the same columns
        // (ky changes), never a partly overlapping vector just stored (a store-forwarding stall).
        for (int kx = 0; kx < kw; kx++)
        {
            int off = kx * dw - pw;
            var (lo, hi) = ValidRange(off, sw, w, ow);
            if (hi <= lo) continue;
            for (int ky = 0; ky < kh; ky++)
            {
                int iy0 = ky * dh - ph;
                var (oyLo, oyHi) = ValidRange(iy0, sh, h, oh);
                float* s = src + (long)(ky * kw + kx) * ld + oyLo * ow;
                float* d = dst + (long)(oyLo * sh + iy0) * w + off;
                for (int oy = oyLo; oy < oyHi; oy++, s += ow, d += sh * w)
                {
                    if (sw == 1) AddRow(s + lo, d + lo, hi - lo);
                    else for (int ox = lo; ox < hi; ox++) d[ox * sw] += s[ox];
                }
            }
        }
    }

    /// <summary>d[0..n) = s[0..n); rows are short (often 8-32), so no library call per row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(float* s, float* d, int n)
    {
        if (n >= 8 && Vector256.IsHardwareAccelerated)
        {
            for (int i = 0; i < n - 8; i += 8) Vector256.Store(Vector256.Load(s + i), d + i);
            Vector256.Store(Vector256.Load(s + n - 8), d + n - 8); // last 8, overlapping
        }
        else new ReadOnlySpan<float>(s, n).CopyTo(new Span<float>(d, n));
    }

    /// <summary>d[0..n) += s[0..n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float* s, float* d, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= n - 8; i += 8) Vector256.Store(Vector256.Load(d + i) + Vector256.Load(s + i), d + i);
        for (; i < n; i++) d[i] += s[i];
    }
}

using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Forward depthwise convolution (groups = C = O: one k x k filter per channel) for inference: each (image, channel)
/// plane is copied into a zero-bordered buffer and the filter is applied as a stencil, eight (or four) outputs of a row at
/// a time for strides 1 and 2 (each tap one multiply-add of a contiguous vector; stride 2 reads rows split into even and
/// odd columns), one at a time for larger strides. The unfold-and-GEMM path
/// of <see cref="ConvKernels"/> multiplies a 1 x (k k) row by a (k k) x plane matrix per channel, which wastes most of
/// the micro-kernel on these shapes (measured on the compact-cnn student at 32 x 32: 22-44 us per layer).
/// </summary>
/// <remarks>The taps are summed in (ky, kx) order from the bias, like <see cref="ConvReference"/> (up to FMA rounding).</remarks>
public static unsafe class DepthwiseConv
{
    /// <summary>True for a depthwise convolution (every group one input and one output channel).</summary>
    public static bool Applies(in ConvGeometry g) => g.Groups == g.C && g.O == g.C && g.C > 1;

    /// <summary>Largest zero-bordered plane (floats, on the stack).</summary>
    public const int MaxPaddedPlane = 16384;

    /// <summary>True when <see cref="Forward"/> takes this geometry (depthwise, and the padded plane fits its buffer).</summary>
    public static bool Supports(in ConvGeometry g) =>
        Applies(g) && (long)(g.H + 2 * g.PH) * (g.W + 2 * g.PW) <= MaxPaddedPlane;

    /// <summary>y = conv(x) + bias; <paramref name="bias"/> may be empty.</summary>
    public static void Forward(in ConvGeometry g,
        ReadOnlySpan<float> x,    // [N, C, H, W]
        ReadOnlySpan<float> w,    // [C, 1, KH, KW]
        ReadOnlySpan<float> bias, // [C] or empty
        Span<float> y,            // [N, C, OH, OW]
        int threads = 0)
    {
        if (!Supports(g)) throw new ArgumentException($"depthwise conv: geometry {g.InputShapeText} -> {g.OutputShapeText} (groups {g.Groups}) is not a depthwise convolution with a plane of at most {MaxPaddedPlane} padded pixels");
        ConvGeometry.CheckLength(x.Length, g.InputSize, "x", g.InputShapeText);
        ConvGeometry.CheckLength(w.Length, g.WeightSize, "w", g.WeightShapeText);
        ConvGeometry.CheckLength(y.Length, g.OutputSize, "y", g.OutputShapeText);
        if (bias.Length != 0) ConvGeometry.CheckLength(bias.Length, g.O, "bias", $"[{g.O}]");
        if (g.N == 0) return;
        var geo = g;
        int planes = g.N * g.C;
        fixed (float* px = x, pw = w, pb = bias, py = y)
        {
            float* xp = px, wp = pw, bp = bias.Length != 0 ? pb : null, yp = py;
            ConvParallel.For(planes, threads, (long)g.OutPlane * g.KH * g.KW, (p0, p1) =>
            {
                int hp = geo.H + 2 * geo.PH, wpd = geo.W + 2 * geo.PW;
                float* buf = stackalloc float[hp * wpd];
                new Span<float>(buf, hp * wpd).Clear();
                bool split = geo.SW == 2;
                int* off = stackalloc int[geo.KW];
                for (int kx = 0; kx < geo.KW; kx++)
                {
                    int t = kx * geo.DW;
                    off[kx] = split ? t % 2 * ((wpd + 1) / 2) + t / 2 : t;
                }
                int step = geo.SW == 1 || split ? 1 : geo.SW;
                for (int pl = p0; pl < p1; pl++)
                {
                    int c = pl % geo.C;
                    float* src = xp + (long)pl * geo.H * geo.W;
                    if (split) SplitColumns(geo, src, buf, wpd); // the zero border is the same for every plane: only the interior is written
                    else
                        for (int r = 0; r < geo.H; r++)
                            new ReadOnlySpan<float>(src + r * geo.W, geo.W).CopyTo(new Span<float>(buf + (r + geo.PH) * wpd + geo.PW, geo.W));
                    Plane(geo, buf, wpd, off, step, wp + (long)c * geo.KH * geo.KW, bp != null ? bp[c] : 0f, yp + (long)pl * geo.OutPlane);
                }
            });
        }
    }

    /// <summary>
    /// Writes a plane into the zero-bordered buffer with each padded row stored as its even columns followed by its odd
    /// ones (<c>(wpd + 1) / 2</c> even slots): padded column j sits at <c>(j % 2) even + j / 2</c>.
    /// </summary>
    private static void SplitColumns(in ConvGeometry g, float* src, float* buf, int wpd)
    {
        int even = (wpd + 1) / 2, w = g.W, pw = g.PW;
        for (int r = 0; r < g.H; r++)
        {
            float* s = src + r * w, row = buf + (r + g.PH) * wpd;
            int first = pw % 2 == 0 ? 0 : 1; // source column whose padded column is even
            for (int ix = first, j = (pw + first) / 2; ix < w; ix += 2, j++) row[j] = s[ix];
            for (int ix = 1 - first, j = even + (pw + 1 - first) / 2; ix < w; ix += 2, j++) row[j] = s[ix];
        }
    }

    /// <summary>
    /// One output plane from a zero-bordered input plane: output (oy, ox) sums f[ky, kx] times the buffer at row
    /// oy SH + ky DH and column <c>ox step + off[kx]</c>. Stride 1: step 1, off = kx DW on the plain rows; stride 2: step 1
    /// on split rows (<see cref="SplitColumns"/>: padded column 2 ox + t sits at (t mod 2) even + ox + t / 2); other
    /// strides: step SW on the plain rows, scalar. With step 1 eight (then four) outputs of a row are one vector each.
    /// </summary>
    private static void Plane(in ConvGeometry g, float* buf, int wpd, int* off, int step, float* f, float bias, float* y)
    {
        int oh = g.OH, ow = g.OW, kh = g.KH, kw = g.KW, sh = g.SH, dh = g.DH;
        const int L = 8;
        bool simd = Vector256.IsHardwareAccelerated && step == 1;
        for (int oy = 0; oy < oh; oy++)
        {
            float* top = buf + oy * sh * wpd, yr = y + oy * ow;
            int ox = 0;
            if (simd)
            {
                for (; ox + L <= ow; ox += L)
                {
                    var acc = Vector256.Create(bias);
                    for (int ky = 0; ky < kh; ky++)
                    {
                        float* r = top + ky * dh * wpd + ox;
                        for (int kx = 0; kx < kw; kx++)
                            acc = Vector256.FusedMultiplyAdd(Vector256.Create(f[ky * kw + kx]), Vector256.Load(r + off[kx]), acc);
                    }
                    acc.Store(yr + ox);
                }
                for (; ox + L / 2 <= ow; ox += L / 2) // rows of 4 .. 7 outputs (small maps)
                {
                    var acc = Vector128.Create(bias);
                    for (int ky = 0; ky < kh; ky++)
                    {
                        float* r = top + ky * dh * wpd + ox;
                        for (int kx = 0; kx < kw; kx++)
                            acc = Vector128.FusedMultiplyAdd(Vector128.Create(f[ky * kw + kx]), Vector128.Load(r + off[kx]), acc);
                    }
                    acc.Store(yr + ox);
                }
            }
            for (; ox < ow; ox++)
            {
                float acc = bias;
                for (int ky = 0; ky < kh; ky++)
                {
                    float* r = top + ky * dh * wpd + ox * step;
                    for (int kx = 0; kx < kw; kx++) acc = MathF.FusedMultiplyAdd(f[ky * kw + kx], r[off[kx]], acc);
                }
                yr[ox] = acc;
            }
        }
    }
}

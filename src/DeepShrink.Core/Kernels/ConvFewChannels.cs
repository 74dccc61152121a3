using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Direct convolution for layers with few input channels (the stem of an image network: 3 channels, 7 x 7 stride 2),
/// with the output positions of a row in the vector lanes, bias and ReLU in the epilogue, and optionally the max pool
/// 3 x 3 / 2 (padding 1) that follows a ResNet-style stem fused in.
/// </summary>
/// <remarks>
/// <para>
/// With C x KH x KW = 147 multiply-adds per output value, the packed im2col GEMM spends a large share of its time
/// unfolding: each output position gathers 147 inputs at stride 2. Here each thread copies its band of input rows once
/// into zero-padded rows split into even and odd columns (stride 2), so that the 16 inputs a tap needs for 16 adjacent
/// outputs are contiguous; a register block of 4 output channels x 7 vectors (112 outputs of a row) then takes one
/// load per vector and one broadcast weight per channel and tap: 28 multiply-adds per 7 loads.
/// </para>
/// <para>
/// With the pool fused, each thread computes the convolution rows its band of pooled rows needs (one row more than
/// half, shared with the neighbouring band) into a buffer that stays in its cache and pools them from there: the
/// convolution's output (64 x 112 x 112 floats for ResNet18, 3.2 MB) is never written to memory nor read back by the
/// other core. Values equal the convolution + ReLU + max pool to float rounding (the sum runs in tap order).
/// </para>
/// </remarks>
public sealed unsafe class ConvFewChannels
{
    /// <summary>Most input values per output (C x KH x KW) this kernel takes.</summary>
    public const int MaxTaps = 256;

    /// <summary>Most input channels: with more, the im2col GEMM's depth is large enough for it to run near peak.</summary>
    public const int MaxChannels = 4;

    private const int Lanes = 16, Oc = 4, Wide = 7, Narrow = 2;

    /// <summary>Channel groups (of 4) computed per pass over a band when the pool is fused.</summary>
    private const int PoolGroups = 4;

    private readonly ConvGeometry _g;
    private readonly float[] _w;     // [O / 4, taps, 4], taps in (c, ky, kx) order
    private readonly float[] _bias;  // [O]
    private readonly int _taps, _vectors, _rowLen, _phases;

    /// <summary>The fused pool's geometry (max, 3 x 3, stride 2, padding 1), or null for the convolution alone.</summary>
    public PoolGeometry? Pool { get; }

    /// <summary>Geometry (N ignored).</summary>
    public ConvGeometry Geometry => _g;

    /// <summary>True when this machine and geometry can run here (AVX-512, ungrouped, undilated, horizontal stride 1 or 2, few channels, O a multiple of 4).</summary>
    public static bool Supports(in ConvGeometry g) =>
        Avx512F.IsSupported && g.Groups == 1 && g.DH == 1 && g.DW == 1 && (g.SW == 1 || g.SW == 2) && g.C <= MaxChannels
        && g.C * g.KH * g.KW <= MaxTaps && g.O % Oc == 0 && g.OW >= Lanes && g.KW <= 2 * Lanes;

    /// <summary>True when <paramref name="p"/> is the max pool this kernel fuses (3 x 3, stride 2, padding 1) over this convolution's output.</summary>
    public static bool FusesPool(in ConvGeometry g, in PoolGeometry p) =>
        p.C == g.O && p.H == g.OH && p.W == g.OW && p.KH == 3 && p.KW == 3 && p.SH == 2 && p.SW == 2 && p.PH == 1 && p.PW == 1;

    /// <param name="g">Convolution geometry (<see cref="Supports"/>).</param>
    /// <param name="weight">[O, C, KH, KW].</param>
    /// <param name="bias">[O] or empty.</param>
    /// <param name="pool">A max pool to fuse (<see cref="FusesPool"/>), or null.</param>
    public ConvFewChannels(ConvGeometry g, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, PoolGeometry? pool = null)
    {
        if (!Supports(g)) throw new ArgumentException($"geometry {g} is not supported by the few-channel direct convolution");
        if (pool is { } p && !FusesPool(g, p)) throw new ArgumentException($"pool {p} is not the 3 x 3 / 2 max pool (padding 1) over this convolution's output");
        _taps = g.C * g.KH * g.KW;
        if (weight.Length != g.O * _taps) throw new ArgumentException($"weight has {weight.Length} elements, expected {g.O * _taps}");
        if (bias.Length != 0 && bias.Length != g.O) throw new ArgumentException($"bias has {bias.Length} elements, expected 0 or {g.O}");
        _g = g with { N = 1 };
        Pool = pool is { } q ? q with { N = 1 } : null;
        _w = new float[g.O * _taps];
        for (int o = 0; o < g.O; o++)
            for (int t = 0; t < _taps; t++)
                _w[((o / Oc) * _taps + t) * Oc + o % Oc] = weight[o * _taps + t];
        _bias = bias.Length == 0 ? new float[g.O] : bias.ToArray();
        _vectors = (g.OW + Lanes - 1) / Lanes;
        _phases = g.SW;
        // a phase row holds every input a tap of any computed vector reads (narrow blocks may run one vector past the end)
        _rowLen = ((_vectors + Narrow) * Lanes + g.KW / g.SW + 2 * Lanes - 1) / Lanes * Lanes;
    }

    /// <summary>Output values per image (pooled when a pool is fused).</summary>
    public int OutputSize => Pool is { } p ? _g.O * p.OH * p.OW : _g.O * _g.OH * _g.OW;

    /// <summary>y = [pool](act(conv(x) + bias)) for a batch; x [batch, C, H, W], y [batch, O, OH, OW] (pooled sizes when fused).</summary>
    public void Forward(int batch, ReadOnlySpan<float> x, Span<float> y, bool relu, int threads)
    {
        var g = _g;
        if (x.Length != (long)batch * g.C * g.H * g.W) throw new ArgumentException($"input has {x.Length} elements, expected {batch} x {g.C * g.H * g.W}");
        if (y.Length != (long)batch * OutputSize) throw new ArgumentException($"output has {y.Length} elements, expected {batch} x {OutputSize}");
        if (batch == 0) return;
        threads = Math.Max(1, threads);
        int rows = Pool is { } p ? p.OH : g.OH;
        // batch 1 is cut into row bands, one per thread; a batch of at least as many images as threads goes image by image
        int bands = Math.Clamp((threads + batch - 1) / batch, 1, Math.Max(1, rows / 4));
        fixed (float* px = x, py = y)
        {
            float* xp = px, yp = py;
            int inSize = g.C * g.H * g.W, outSize = OutputSize;
            WorkerPool.Run(batch * bands, threads, part =>
            {
                int n = part / bands, b = part % bands;
                int r0 = (int)((long)rows * b / bands), r1 = (int)((long)rows * (b + 1) / bands);
                Band(xp + (long)n * inSize, yp + (long)n * outSize, r0, r1, relu);
            });
        }
    }

    /// <summary>Output rows [r0, r1) of one image (pooled rows when fused).</summary>
    private void Band(float* x, float* y, int r0, int r1, bool relu)
    {
        var g = _g;
        // convolution rows computed: all of [r0, r1), or those the pooled rows read (2 r - 1 .. 2 r + 1)
        int c0 = Pool is null ? r0 : Math.Max(0, 2 * r0 - 1), c1 = Pool is null ? r1 : Math.Min(g.OH, 2 * r1);
        int iy0 = Math.Max(0, c0 * g.SH - g.PH), iy1 = Math.Min(g.H, (c1 - 1) * g.SH - g.PH + g.KH);
        int inRows = Math.Max(0, iy1 - iy0);
        int prepLen = g.C * inRows * _phases * _rowLen, padLen = _phases * _rowLen + 2 * Lanes;
        int convRows = c1 - c0, rowStride = g.OW + 2 * Lanes; // pooled: room for column -1 and past OW in the pool's row
        int bufLen = Pool is null ? 0 : PoolGroups * Oc * convRows * rowStride;
        int tapInts = convRows * (2 * _taps + 1);
        float[] scratch = ArrayPool<float>.Shared.Rent(prepLen + padLen + bufLen + 2 * rowStride + tapInts + 4 * Lanes);
        try
        {
            fixed (float* s = scratch)
            fixed (float* wAll = _w)
            {
                float* prep = CacheLines.Align(s), pad = prep + prepLen, buf = pad + padLen, vm = buf + bufLen + Lanes;
                int* offs = (int*)(vm + rowStride + Lanes), wis = offs + convRows * _taps, nts = wis + convRows * _taps;
                Prepare(x, prep, pad, iy0, inRows);
                for (int r = c0; r < c1; r++) nts[r - c0] = Taps(r, iy0, inRows, offs + (r - c0) * _taps, wis + (r - c0) * _taps);
                int groups = g.O / Oc;
                if (Pool is not { } p)
                {   // row by row, all channels: the taps' input rows stay in the first-level cache across the channel groups
                    for (int r = c0; r < c1; r++)
                        for (int og = 0; og < groups; og++)
                            Row(prep, offs + (r - c0) * _taps, wis + (r - c0) * _taps, nts[r - c0], wAll + og * _taps * Oc, og,
                                y + (long)og * Oc * g.OH * g.OW + (long)r * g.OW, (long)g.OH * g.OW, relu);
                    return;
                }
                // PoolGroups channel groups at a time: their rows of the band fit the buffer, and each row's input is read
                // once per pass instead of once per group
                long chStride = (long)convRows * rowStride;
                for (int og0 = 0; og0 < groups; og0 += PoolGroups)
                {
                    int og1 = Math.Min(groups, og0 + PoolGroups);
                    for (int r = c0; r < c1; r++)
                        for (int og = og0; og < og1; og++)
                            Row(prep, offs + (r - c0) * _taps, wis + (r - c0) * _taps, nts[r - c0], wAll + og * _taps * Oc, og,
                                buf + (og - og0) * Oc * chStride + (long)(r - c0) * rowStride + Lanes, chStride, relu);
                    for (int ch = og0 * Oc; ch < og1 * Oc; ch++)
                        PoolRows(buf + (ch - og0 * Oc) * chStride + Lanes, rowStride, c0, r0, r1, vm, y + (long)ch * p.OH * p.OW, p.OW);
                }
            }
        }
        finally { ArrayPool<float>.Shared.Return(scratch); }
    }

    /// <summary>
    /// Copies input rows [iy0, iy0 + rows) of every channel into zero-padded phase rows (even / odd columns for stride 2),
    /// through <paramref name="pad"/>, one zero-padded row (<see cref="_phases"/> x <see cref="_rowLen"/> + 32 floats).
    /// </summary>
    private void Prepare(float* x, float* prep, float* pad, int iy0, int rows)
    {
        var g = _g;
        int padded = _phases * _rowLen;
        var span = new Span<float>(pad, padded + 2 * Lanes);
        span.Clear();
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odd = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        int copy = Math.Min(g.W, padded - g.PW);
        for (int c = 0; c < g.C; c++)
            for (int r = 0; r < rows; r++)
            {
                float* src = x + ((long)c * g.H + iy0 + r) * g.W;
                float* dst = prep + (long)(c * rows + r) * padded;
                new ReadOnlySpan<float>(src, copy).CopyTo(new Span<float>(pad + g.PW, copy)); // the zero borders stay
                if (_phases == 1) { new ReadOnlySpan<float>(pad, _rowLen).CopyTo(new Span<float>(dst, _rowLen)); continue; }
                float* d0 = dst, d1 = dst + _rowLen;
                for (int i = 0; i < _rowLen; i += Lanes)
                {
                    var lo = Vector512.Load(pad + 2 * i); var hi = Vector512.Load(pad + 2 * i + Lanes);
                    var e = Avx512F.PermuteVar16x32x2(lo, even, hi); var o = Avx512F.PermuteVar16x32x2(lo, odd, hi);
                    if (i + Lanes <= _rowLen) { e.Store(d0 + i); o.Store(d1 + i); }
                    else { Avx512F.MaskStore(d0 + i, Mask(_rowLen - i), e); Avx512F.MaskStore(d1 + i, Mask(_rowLen - i), o); }
                }
            }
    }

    /// <summary>The taps of output row <paramref name="r"/> that meet real input rows: their phase-row offsets and weight indices; returns their count.</summary>
    private int Taps(int r, int iy0, int rows, int* off, int* wi)
    {
        var g = _g;
        int nt = 0;
        for (int c = 0; c < g.C; c++)
            for (int ky = 0; ky < g.KH; ky++)
            {
                int iy = r * g.SH + ky - g.PH;
                if (iy < 0 || iy >= g.H) continue;
                for (int kx = 0; kx < g.KW; kx++)
                {
                    off[nt] = ((c * rows + iy - iy0) * _phases + kx % _phases) * _rowLen + kx / _phases;
                    wi[nt++] = ((c * g.KH + ky) * g.KW + kx) * Oc;
                }
            }
        return nt;
    }

    /// <summary>One output row of 4 channels (channel j at y + j <paramref name="plane"/>), bias and ReLU applied.</summary>
    private void Row(float* prep, int* off, int* wi, int nt, float* w, int og, float* y, long plane, bool relu)
    {
        var b = Vector128.LoadUnsafe(ref _bias[og * Oc]);
        int v = 0;
        for (; v + Wide <= _vectors; v += Wide) BlockWide(prep + v * Lanes, off, wi, nt, w, b, y + v * Lanes, plane, relu, Lanes * Wide);
        for (; v < _vectors; v += Narrow) BlockNarrow(prep + v * Lanes, off, wi, nt, w, b, y + v * Lanes, plane, relu, _g.OW - v * Lanes);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void BlockWide(float* src, int* off, int* wi, int nt, float* w, Vector128<float> bias, float* y, long plane, bool relu, int cols)
    {
        Vector512<float> b0 = Vector512.Create(bias.GetElement(0)), b1 = Vector512.Create(bias.GetElement(1)),
            b2 = Vector512.Create(bias.GetElement(2)), b3 = Vector512.Create(bias.GetElement(3));
        Vector512<float> a00 = b0, a01 = b0, a02 = b0, a03 = b0, a04 = b0, a05 = b0, a06 = b0;
        Vector512<float> a10 = b1, a11 = b1, a12 = b1, a13 = b1, a14 = b1, a15 = b1, a16 = b1;
        Vector512<float> a20 = b2, a21 = b2, a22 = b2, a23 = b2, a24 = b2, a25 = b2, a26 = b2;
        Vector512<float> a30 = b3, a31 = b3, a32 = b3, a33 = b3, a34 = b3, a35 = b3, a36 = b3;
        for (int t = 0; t < nt; t++)
        {
            float* s = src + off[t], k = w + wi[t];
            var x = Avx512F.LoadVector512(s);
            a00 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[0]), a00); a10 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[1]), a10); a20 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[2]), a20); a30 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[3]), a30);
            x = Avx512F.LoadVector512(s + 16);
            a01 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[0]), a01); a11 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[1]), a11); a21 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[2]), a21); a31 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[3]), a31);
            x = Avx512F.LoadVector512(s + 32);
            a02 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[0]), a02); a12 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[1]), a12); a22 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[2]), a22); a32 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[3]), a32);
            x = Avx512F.LoadVector512(s + 48);
            a03 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[0]), a03); a13 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[1]), a13); a23 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[2]), a23); a33 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[3]), a33);
            x = Avx512F.LoadVector512(s + 64);
            a04 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[0]), a04); a14 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[1]), a14); a24 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[2]), a24); a34 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[3]), a34);
            x = Avx512F.LoadVector512(s + 80);
            a05 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[0]), a05); a15 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[1]), a15); a25 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[2]), a25); a35 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[3]), a35);
            x = Avx512F.LoadVector512(s + 96);
            a06 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[0]), a06); a16 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[1]), a16); a26 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[2]), a26); a36 = Avx512F.FusedMultiplyAdd(x, Vector512.Create(k[3]), a36);
        }
        Store7(y, a00, a01, a02, a03, a04, a05, a06, relu);
        Store7(y + plane, a10, a11, a12, a13, a14, a15, a16, relu);
        Store7(y + 2 * plane, a20, a21, a22, a23, a24, a25, a26, relu);
        Store7(y + 3 * plane, a30, a31, a32, a33, a34, a35, a36, relu);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store7(float* y, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, bool relu)
    {
        if (relu)
        {
            var z = Vector512<float>.Zero;
            v0 = Avx512F.Max(v0, z); v1 = Avx512F.Max(v1, z); v2 = Avx512F.Max(v2, z); v3 = Avx512F.Max(v3, z);
            v4 = Avx512F.Max(v4, z); v5 = Avx512F.Max(v5, z); v6 = Avx512F.Max(v6, z);
        }
        v0.Store(y); v1.Store(y + 16); v2.Store(y + 32); v3.Store(y + 48); v4.Store(y + 64); v5.Store(y + 80); v6.Store(y + 96);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void BlockNarrow(float* src, int* off, int* wi, int nt, float* w, Vector128<float> bias, float* y, long plane, bool relu, int cols)
    {
        Vector512<float> a00 = Vector512.Create(bias.GetElement(0)), a10 = Vector512.Create(bias.GetElement(1)),
            a20 = Vector512.Create(bias.GetElement(2)), a30 = Vector512.Create(bias.GetElement(3));
        Vector512<float> a01 = a00, a11 = a10, a21 = a20, a31 = a30;
        for (int t = 0; t < nt; t++)
        {
            float* s = src + off[t], k = w + wi[t];
            var w0 = Vector512.Create(k[0]); var w1 = Vector512.Create(k[1]); var w2 = Vector512.Create(k[2]); var w3 = Vector512.Create(k[3]);
            var x = Avx512F.LoadVector512(s);
            a00 = Avx512F.FusedMultiplyAdd(x, w0, a00); a10 = Avx512F.FusedMultiplyAdd(x, w1, a10); a20 = Avx512F.FusedMultiplyAdd(x, w2, a20); a30 = Avx512F.FusedMultiplyAdd(x, w3, a30);
            x = Avx512F.LoadVector512(s + 16);
            a01 = Avx512F.FusedMultiplyAdd(x, w0, a01); a11 = Avx512F.FusedMultiplyAdd(x, w1, a11); a21 = Avx512F.FusedMultiplyAdd(x, w2, a21); a31 = Avx512F.FusedMultiplyAdd(x, w3, a31);
        }
        StorePartial(y, a00, a01, relu, cols);
        StorePartial(y + plane, a10, a11, relu, cols);
        StorePartial(y + 2 * plane, a20, a21, relu, cols);
        StorePartial(y + 3 * plane, a30, a31, relu, cols);
    }

    /// <summary>Stores the first <paramref name="cols"/> (up to 32) of two vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePartial(float* y, Vector512<float> v0, Vector512<float> v1, bool relu, int cols)
    {
        if (relu) { v0 = Avx512F.Max(v0, Vector512<float>.Zero); v1 = Avx512F.Max(v1, Vector512<float>.Zero); }
        if (cols >= 2 * Lanes) { v0.Store(y); v1.Store(y + Lanes); return; }
        if (cols >= Lanes)
        {
            v0.Store(y);
            Avx512F.MaskStore(y + Lanes, Mask(cols - Lanes), v1);
            return;
        }
        Avx512F.MaskStore(y, Mask(cols), v0);
    }

    private static Vector512<float> Mask(int n) =>
        Vector512.LessThan(Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create(n)).AsSingle();

    /// <summary>
    /// Max pool 3 x 3 / 2 (padding 1) of pooled rows [r0, r1) of one channel from its convolution rows [c0, c1)
    /// (row r at <paramref name="conv"/> + (r - c0) <paramref name="stride"/>); <paramref name="vm"/> is a row of scratch
    /// with room for one column before and <see cref="Lanes"/> x 2 after.
    /// </summary>
    private void PoolRows(float* conv, int stride, int c0, int r0, int r1, float* vm, float* y, int ow)
    {
        int w = _g.OW, oh = _g.OH;
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odd = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        vm[-1] = float.NegativeInfinity;
        for (int i = w; i < w + 2 * Lanes + 2; i++) vm[i] = float.NegativeInfinity;
        for (int r = r0; r < r1; r++)
        {
            int a = Math.Max(0, 2 * r - 1), b = Math.Min(oh, 2 * r + 2); // window rows [a, b), inside [c0, c1)
            float* first = conv + (long)(a - c0) * stride;
            for (int i = 0; i < w; i += Lanes)
            {
                var m = Vector512.Load(first + i);
                for (int k = a + 1; k < b; k++) m = Avx512F.Max(m, Vector512.Load(first + (long)(k - a) * stride + i));
                if (i + Lanes <= w) m.Store(vm + i);
                else Avx512F.MaskStore(vm + i, Mask(w - i), m);
            }
            float* yr = y + (long)r * ow;
            for (int o = 0; o < ow; o += Lanes)
            {
                float* q = vm + 2 * o - 1; // q[2 i], q[2 i + 1], q[2 i + 2] = columns 2 (o + i) - 1, 2 (o + i), 2 (o + i) + 1
                var lo = Vector512.Load(q); var hi = Vector512.Load(q + Lanes);
                var lo2 = Vector512.Load(q + 2); var hi2 = Vector512.Load(q + 2 + Lanes);
                var m = Avx512F.Max(Avx512F.Max(Avx512F.PermuteVar16x32x2(lo, even, hi), Avx512F.PermuteVar16x32x2(lo, odd, hi)),
                    Avx512F.PermuteVar16x32x2(lo2, even, hi2));
                if (o + Lanes <= ow) m.Store(yr + o);
                else Avx512F.MaskStore(yr + o, Mask(ow - o), m);
            }
        }
    }
}

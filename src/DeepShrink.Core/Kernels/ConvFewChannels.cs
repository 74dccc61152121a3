using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Direct convolution for layers with few input channels (the stem of an image network: 3 channels, 7 x 7 stride 2),
/// with output channels in the vector lanes, bias and ReLU in the epilogue, and optionally the max pool 3 x 3 / 2
/// (padding 1) that follows a ResNet-style stem fused in.
/// </summary>
/// <remarks>
/// <para>
/// With C x KH x KW = 147 multiply-adds per output value and only 3 input channels, the packed im2col GEMM spends a
/// large share of its time unfolding. Here each thread copies its band of input rows once into zero-padded rows (the
/// padding rows and columns are real zeros, so every tap of every output is read alike); a register block of 64 output
/// channels (4 vectors) x 6 output positions of a row then takes, per tap, 4 aligned weight loads and 6 broadcast
/// inputs for 24 multiply-adds, with no unaligned load at any stride (24 accumulators, 4 weights and a broadcast fit
/// the 32 registers: the inner loop runs at ~97 % of the core's multiply-add peak). Layers whose output channels are
/// not a multiple of 64 take the rest 16 channels at a time.
/// </para>
/// <para>
/// A row's results land in a small [position, channel] buffer that stays in the first- or second-level cache; bias
/// and ReLU are applied there, and 16 x 16 transposes write them to the [channel, row, position] output. With the
/// pool fused, the 3 x 3 / 2 maximum is taken in that [position, channel] form (16 channels per instruction) from the
/// three convolution rows a pooled row needs, and only the pooled row is transposed out: the convolution's output
/// (64 x 112 x 112 floats for ResNet18, 3.2 MB) is never written to memory nor read back by the other core. Each
/// thread computes the convolution rows its band of pooled rows needs (one row more than half, shared with the
/// neighbouring band). Values equal the convolution + ReLU + max pool to float rounding (the sum runs in tap order).
/// </para>
/// </remarks>
public sealed unsafe class ConvFewChannels
{
    /// <summary>Most input values per output (C x KH x KW) this kernel takes.</summary>
    public const int MaxTaps = 256;

    /// <summary>Most input channels: with more, the im2col GEMM's depth is large enough for it to run near peak.</summary>
    public const int MaxChannels = 4;

    private const int Lanes = 16, Block = 4 * Lanes, Positions = 6;

    private readonly ConvGeometry _g;
    private readonly float[] _wStore; // pinned: [taps, O] from _wOffset, 64-byte aligned; taps in (c, ky, kx) order
    private readonly int _wOffset;
    private readonly float[] _bias;   // [O]
    private readonly int _taps, _tiles, _rowWidth;

    /// <summary>The fused pool's geometry (max, 3 x 3, stride 2, padding 1), or null for the convolution alone.</summary>
    public PoolGeometry? Pool { get; }

    /// <summary>Geometry (N ignored).</summary>
    public ConvGeometry Geometry => _g;

    /// <summary>True when this machine and geometry can run here (AVX-512, ungrouped, few input channels, O a multiple of 16).</summary>
    public static bool Supports(in ConvGeometry g) =>
        Avx512F.IsSupported && g.Groups == 1 && g.C <= MaxChannels && g.C * g.KH * g.KW <= MaxTaps && g.O % Lanes == 0;

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
        _wStore = GC.AllocateArray<float>(_taps * g.O + CacheLines.Floats, pinned: true);
        fixed (float* s = _wStore) _wOffset = (int)(CacheLines.Align(s) - s);
        for (int o = 0; o < g.O; o++)
            for (int t = 0; t < _taps; t++)
                _wStore[_wOffset + t * g.O + o] = weight[o * _taps + t];
        _bias = bias.Length == 0 ? new float[g.O] : bias.ToArray();
        _tiles = (g.OW + Positions - 1) / Positions;
        // a padded input row holds every column a tile reads, the last tile's positions past OW included
        int lastColumn = (_tiles * Positions - 1) * g.SW + (g.KW - 1) * g.DW;
        _rowWidth = (Math.Max(lastColumn + 1, g.PW + g.W) + Lanes - 1) / Lanes * Lanes;
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
        int iy0 = c0 * g.SH - g.PH, inRows = (c1 - 1) * g.SH + (g.KH - 1) * g.DH + 1 - c0 * g.SH;
        int prepLen = g.C * inRows * _rowWidth;
        int convRow = (_tiles * Positions + Lanes - 1) / Lanes * Lanes * g.O; // [position, channel], rounded up for the transposes
        int ring = Pool is null ? 1 : 3, pooledRow = Pool is { } pg ? (pg.OW + Lanes - 1) / Lanes * Lanes * g.O : 0;
        float[] scratch = ArrayPool<float>.Shared.Rent(prepLen + ring * convRow + pooledRow + _taps + 2 * CacheLines.Floats);
        try
        {
            fixed (float* s = scratch)
            fixed (float* wStore = _wStore)
            fixed (float* bias = _bias)
            {
                float* prep = CacheLines.Align(s), rowBuf = prep + prepLen, pooled = rowBuf + ring * convRow;
                int* off = (int*)CacheLines.Align(pooled + pooledRow);
                float* w = wStore + _wOffset;
                Prepare(x, prep, iy0, inRows);
                for (int c = 0, t = 0; c < g.C; c++)
                    for (int ky = 0; ky < g.KH; ky++)
                        for (int kx = 0; kx < g.KW; kx++)
                            off[t++] = (c * inRows + ky * g.DH) * _rowWidth + kx * g.DW;
                long plane = (long)g.OH * g.OW;
                if (Pool is not { } p)
                {
                    for (int r = c0; r < c1; r++)
                    {
                        ConvRow(prep + (long)(r - c0) * g.SH * _rowWidth, off, w, bias, rowBuf, relu);
                        Transpose(rowBuf, g.OW, y + (long)r * g.OW, plane);
                    }
                    return;
                }
                int done = c0; // convolution rows [c0, done) are in the ring (the last three at most)
                for (int r = r0; r < r1; r++)
                {
                    int a = Math.Max(0, 2 * r - 1), b = Math.Min(g.OH, 2 * r + 2); // window rows [a, b)
                    for (; done < b; done++)
                        ConvRow(prep + (long)(done - c0) * g.SH * _rowWidth, off, w, bias, rowBuf + (long)(done % 3) * convRow, relu);
                    PoolRow(rowBuf, convRow, a, b, pooled, p.OW);
                    Transpose(pooled, p.OW, y + (long)r * p.OW, (long)p.OH * p.OW);
                }
            }
        }
        finally { ArrayPool<float>.Shared.Return(scratch); }
    }

    /// <summary>Copies input rows [iy0, iy0 + rows) of every channel into zero-padded rows of <see cref="_rowWidth"/> (rows outside the image are zeros).</summary>
    private void Prepare(float* x, float* prep, int iy0, int rows)
    {
        var g = _g;
        new Span<float>(prep, g.C * rows * _rowWidth).Clear();
        int copy = Math.Min(g.W, _rowWidth - g.PW);
        for (int c = 0; c < g.C; c++)
            for (int r = Math.Max(0, -iy0); r < rows && iy0 + r < g.H; r++)
                new ReadOnlySpan<float>(x + ((long)c * g.H + iy0 + r) * g.W, copy)
                    .CopyTo(new Span<float>(prep + (long)(c * rows + r) * _rowWidth + g.PW, copy));
    }

    /// <summary>One output row, every channel, into <paramref name="dst"/> [position, channel] with bias and ReLU.</summary>
    private void ConvRow(float* src, int* off, float* w, float* bias, float* dst, bool relu)
    {
        int o = _g.O, sw = _g.SW;
        for (int tile = 0; tile < _tiles; tile++)
        {
            float* s = src + tile * Positions * sw, d = dst + (long)tile * Positions * o;
            int ob = 0;
            for (; ob + Block <= o; ob += Block) Tile4(s, sw, off, _taps, w + ob, o, bias + ob, d + ob, o, relu);
            for (; ob < o; ob += Lanes) Tile1(s, sw, off, _taps, w + ob, o, bias + ob, d + ob, o, relu);
        }
    }

    /// <summary>
    /// 64 channels x 6 positions: y[j, v] = sum over taps t of w[t, v] x[off[t] + j sw] (+ bias, ReLU), stored at
    /// <paramref name="dst"/> + j <paramref name="dstStride"/> + 16 v.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile4(float* src, int sw, int* off, int nt, float* w, int wStride, float* bias, float* dst, int dstStride, bool relu)
    {
        var b0 = Vector512.Load(bias); var b1 = Vector512.Load(bias + 16); var b2 = Vector512.Load(bias + 32); var b3 = Vector512.Load(bias + 48);
        Vector512<float> a00 = b0, a01 = b1, a02 = b2, a03 = b3, a10 = b0, a11 = b1, a12 = b2, a13 = b3, a20 = b0, a21 = b1, a22 = b2, a23 = b3;
        Vector512<float> a30 = b0, a31 = b1, a32 = b2, a33 = b3, a40 = b0, a41 = b1, a42 = b2, a43 = b3, a50 = b0, a51 = b1, a52 = b2, a53 = b3;
        float* x0 = src, x1 = src + sw, x2 = src + 2 * sw, x3 = src + 3 * sw, x4 = src + 4 * sw, x5 = src + 5 * sw;
        for (int t = 0; t < nt; t++, w += wStride)
        {
            int i = off[t];
            var w0 = Avx512F.LoadAlignedVector512(w); var w1 = Avx512F.LoadAlignedVector512(w + 16);
            var w2 = Avx512F.LoadAlignedVector512(w + 32); var w3 = Avx512F.LoadAlignedVector512(w + 48);
            var x = Vector512.Create(x0[i]);
            a00 = Avx512F.FusedMultiplyAdd(w0, x, a00); a01 = Avx512F.FusedMultiplyAdd(w1, x, a01); a02 = Avx512F.FusedMultiplyAdd(w2, x, a02); a03 = Avx512F.FusedMultiplyAdd(w3, x, a03);
            x = Vector512.Create(x1[i]);
            a10 = Avx512F.FusedMultiplyAdd(w0, x, a10); a11 = Avx512F.FusedMultiplyAdd(w1, x, a11); a12 = Avx512F.FusedMultiplyAdd(w2, x, a12); a13 = Avx512F.FusedMultiplyAdd(w3, x, a13);
            x = Vector512.Create(x2[i]);
            a20 = Avx512F.FusedMultiplyAdd(w0, x, a20); a21 = Avx512F.FusedMultiplyAdd(w1, x, a21); a22 = Avx512F.FusedMultiplyAdd(w2, x, a22); a23 = Avx512F.FusedMultiplyAdd(w3, x, a23);
            x = Vector512.Create(x3[i]);
            a30 = Avx512F.FusedMultiplyAdd(w0, x, a30); a31 = Avx512F.FusedMultiplyAdd(w1, x, a31); a32 = Avx512F.FusedMultiplyAdd(w2, x, a32); a33 = Avx512F.FusedMultiplyAdd(w3, x, a33);
            x = Vector512.Create(x4[i]);
            a40 = Avx512F.FusedMultiplyAdd(w0, x, a40); a41 = Avx512F.FusedMultiplyAdd(w1, x, a41); a42 = Avx512F.FusedMultiplyAdd(w2, x, a42); a43 = Avx512F.FusedMultiplyAdd(w3, x, a43);
            x = Vector512.Create(x5[i]);
            a50 = Avx512F.FusedMultiplyAdd(w0, x, a50); a51 = Avx512F.FusedMultiplyAdd(w1, x, a51); a52 = Avx512F.FusedMultiplyAdd(w2, x, a52); a53 = Avx512F.FusedMultiplyAdd(w3, x, a53);
        }
        Store4(dst, a00, a01, a02, a03, relu);
        Store4(dst + dstStride, a10, a11, a12, a13, relu);
        Store4(dst + 2 * dstStride, a20, a21, a22, a23, relu);
        Store4(dst + 3 * dstStride, a30, a31, a32, a33, relu);
        Store4(dst + 4 * dstStride, a40, a41, a42, a43, relu);
        Store4(dst + 5 * dstStride, a50, a51, a52, a53, relu);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4(float* d, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3, bool relu)
    {
        if (relu)
        {
            var z = Vector512<float>.Zero;
            v0 = Avx512F.Max(v0, z); v1 = Avx512F.Max(v1, z); v2 = Avx512F.Max(v2, z); v3 = Avx512F.Max(v3, z);
        }
        v0.Store(d); v1.Store(d + 16); v2.Store(d + 32); v3.Store(d + 48);
    }

    /// <summary>16 channels x 6 positions (the channels left after the blocks of 64), as <see cref="Tile4"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile1(float* src, int sw, int* off, int nt, float* w, int wStride, float* bias, float* dst, int dstStride, bool relu)
    {
        var b = Vector512.Load(bias);
        Vector512<float> a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b;
        for (int t = 0; t < nt; t++, w += wStride)
        {
            float* s = src + off[t];
            var k = Avx512F.LoadAlignedVector512(w);
            a0 = Avx512F.FusedMultiplyAdd(k, Vector512.Create(s[0]), a0); a1 = Avx512F.FusedMultiplyAdd(k, Vector512.Create(s[sw]), a1);
            a2 = Avx512F.FusedMultiplyAdd(k, Vector512.Create(s[2 * sw]), a2); a3 = Avx512F.FusedMultiplyAdd(k, Vector512.Create(s[3 * sw]), a3);
            a4 = Avx512F.FusedMultiplyAdd(k, Vector512.Create(s[4 * sw]), a4); a5 = Avx512F.FusedMultiplyAdd(k, Vector512.Create(s[5 * sw]), a5);
        }
        if (relu)
        {
            var z = Vector512<float>.Zero;
            a0 = Avx512F.Max(a0, z); a1 = Avx512F.Max(a1, z); a2 = Avx512F.Max(a2, z); a3 = Avx512F.Max(a3, z); a4 = Avx512F.Max(a4, z); a5 = Avx512F.Max(a5, z);
        }
        a0.Store(dst); a1.Store(dst + dstStride); a2.Store(dst + 2 * dstStride); a3.Store(dst + 3 * dstStride); a4.Store(dst + 4 * dstStride); a5.Store(dst + 5 * dstStride);
    }

    /// <summary>
    /// One pooled row, [position, channel], from convolution rows [a, b) (row r in slot r mod 3 of <paramref name="ring"/>):
    /// the maximum over those rows and columns 2 q - 1 .. 2 q + 1 inside the row.
    /// </summary>
    private void PoolRow(float* ring, int slot, int a, int b, float* dst, int ow)
    {
        int o = _g.O, w = _g.OW;
        for (int q = 0; q < ow; q++)
        {
            int x0 = Math.Max(0, 2 * q - 1), x1 = Math.Min(w, 2 * q + 2);
            for (int v = 0; v < o; v += Lanes)
            {
                var m = Vector512.Create(float.NegativeInfinity);
                for (int r = a; r < b; r++)
                {
                    float* row = ring + (long)(r % 3) * slot + v;
                    for (int c = x0; c < x1; c++) m = Avx512F.Max(m, Vector512.Load(row + (long)c * o));
                }
                m.Store(dst + (long)q * o + v);
            }
        }
    }

    /// <summary>
    /// Writes a [position, channel] row (<paramref name="count"/> positions, rounded up to 16 in the buffer) to
    /// y[channel * <paramref name="plane"/> + position]: 16 x 16 transposes, the last block's store masked.
    /// </summary>
    private void Transpose(float* src, int count, float* y, long plane)
    {
        int o = _g.O;
        for (int p = 0; p < count; p += Lanes)
        {
            var mask = p + Lanes <= count ? Vector512<float>.AllBitsSet : LaneMask.Below(count - p);
            for (int c = 0; c < o; c += Lanes)
                Transpose16(src + (long)p * o + c, o, y + (long)c * plane + p, plane, mask);
        }
    }

    /// <summary>dst[j * dstStride + i] = src[i * srcStride + j] for a 16 x 16 block; lanes outside <paramref name="mask"/> are not stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose16(float* src, int srcStride, float* dst, long dstStride, Vector512<float> mask)
    {
        var r = stackalloc Vector512<float>[Lanes];
        for (int i = 0; i < Lanes; i++) r[i] = Vector512.Load(src + (long)i * srcStride);
        // swap the off-diagonal s x s blocks of each 2s x 2s block, s = 8, 4, 2, 1
        for (int s = 8; s >= 1; s >>= 1)
        {
            var (lo, hi) = SwapIndices(s);
            for (int i = 0; i < Lanes; i += 2 * s)
                for (int j = i; j < i + s; j++)
                {
                    var a = r[j]; var b = r[j + s];
                    r[j] = Avx512F.PermuteVar16x32x2(a, lo, b);
                    r[j + s] = Avx512F.PermuteVar16x32x2(a, hi, b);
                }
        }
        for (int j = 0; j < Lanes; j++) Avx512F.MaskStore(dst + j * dstStride, mask, r[j]);
    }

    /// <summary>
    /// Index vectors of one transpose stage for rows a (upper) and b (lower, s rows on): the new upper row keeps a's lanes
    /// of each even s-block and takes b's even block in place of a's odd one; the new lower row takes a's odd block in
    /// place of b's even one and keeps b's odd blocks.
    /// </summary>
    private static (Vector512<int> Lo, Vector512<int> Hi) SwapIndices(int s) => s switch
    {
        8 => (SwapLo8, SwapHi8),
        4 => (SwapLo4, SwapHi4),
        2 => (SwapLo2, SwapHi2),
        _ => (SwapLo1, SwapHi1),
    };

    private static readonly Vector512<int> SwapLo8 = Indices(8, upper: true), SwapHi8 = Indices(8, upper: false),
        SwapLo4 = Indices(4, upper: true), SwapHi4 = Indices(4, upper: false),
        SwapLo2 = Indices(2, upper: true), SwapHi2 = Indices(2, upper: false),
        SwapLo1 = Indices(1, upper: true), SwapHi1 = Indices(1, upper: false);

    private static Vector512<int> Indices(int s, bool upper)
    {
        var idx = new int[Lanes];
        for (int l = 0; l < Lanes; l++)
        {
            bool left = l % (2 * s) < s;
            idx[l] = upper ? (left ? l : Lanes + l - s) : (left ? l + s : Lanes + l);
        }
        return Vector512.Create(idx);
    }
}

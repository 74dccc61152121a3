using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Inference 3x3, stride-1 convolution (groups = 1, no dilation, any zero padding) by Winograd's minimal filtering
/// F(4x4, 3x3), with the fused epilogue of <see cref="PackedConv"/>: <c>y = act(conv(x, W) + bias [+ residual])</c>.
/// <see cref="ConvReference"/> is the specification; results differ from it by float rounding only (the transforms
/// add a few ulps per term: see <see cref="WinogradReference"/> and the tests for the stated tolerance).
/// </summary>
/// <remarks>
/// Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016): each 4x4 output tile is
/// <c>A^T [ (G g G^T) (.) (B^T d B) ] A</c> over its 6x6 input patch d, 36 multiplies per tile and channel pair instead
/// of 144. Summed over input channels, the element-wise products become 36 independent GEMMs
/// <c>M[xi] [O, T] = U[xi] [O, C] V[xi] [C, T]</c> (T = tiles), with U = G g G^T transformed and packed once at load
/// (<see cref="GemmPackedA"/>, 4x the weights). One call runs three phases over a chunk of whole images, each split
/// over threads without depending on their number: (1) per input channel, the input transform of every tile, done
/// as a vertical pass over whole padded rows (contiguous vectors) then a horizontal pass on 16 tiles at a time
/// (stride-4 phases picked by permutes); (2) the 36 GEMMs; (3) per output channel, the output transform,
/// interleaved back to rows, bias, residual and ReLU, written into the NCHW output. V and M are stored channel-major
/// ([channel][xi][tiles]) up to 64 channels, else by transform point ([xi][channel][tiles]); see ChannelMajor.
/// </remarks>
public sealed unsafe class WinogradConv
{
    private const int Lanes = 16;

    /// <summary>
    /// Floats past a row's columns in the channel-major V [c][xi][tiles] and M [o][xi][tiles]: a channel's 36 (16) rows
    /// then lie 4 KB-unaligned (no cache-set aliasing when the GEMM walks them xis rows apart).
    /// </summary>
    private const int RowPad = Lanes;

    /// <summary>Floats of the transformed input and output buffers of one chunk (4 MiB each), images per chunk chosen to fit.</summary>
    public const int ChunkElements = 1 << 20;

    private readonly ConvGeometry _g;       // N = 1
    private readonly GemmPackedA[] _u;      // [Xi] of U[xi] = (G w G^T)[xi] as [O, C]
    private readonly float[] _bias;
    private readonly int _m, _alpha, _xi;              // output tile side (4 or 2), input tile side m + 2, transformed elements
    private readonly int _th, _tw, _blocks, _rowWidth; // tiles down and across, 16-tile blocks per tile row, padded row length

    /// <summary>True when <paramref name="g"/> is a 3x3, stride-1, undilated, ungrouped convolution (any padding).</summary>
    public static bool Supports(in ConvGeometry g) =>
        g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 && g.Groups == 1 && g.OH >= 1 && g.OW >= 1;

    /// <summary>Tiles of one image for output tiles of side <paramref name="m"/>: ceil(OH / m) ceil(OW / m).</summary>
    public static int TilesPerImage(in ConvGeometry g, int m) => (g.OH + m - 1) / m * ((g.OW + m - 1) / m);

    /// <summary>F(4x4) tiles per image from which the runtime uses F(4x4) rather than F(2x2) (see <see cref="Pays"/>).</summary>
    public const int F4MinTiles = 100;

    /// <summary>
    /// Whether Winograd beats the direct packed convolution for a call of <paramref name="batch"/> images, by the
    /// crossover measured on AVX-512 (docs/RESULTS.md, "small-map runtime"): the transforms cost in proportion to
    /// (C + O) x tiles and save in proportion to C x O x tiles, so both channel counts must be at least 64, and the call
    /// needs at least 196 F(2x2) tiles for its 16 or 36 GEMMs to be efficient.
    /// Measured against the indirect GEMM with 7-position slivers (ResNet18's 3x3 convs, 2 threads, cold caches,
    /// docs/RESULTS.md "eleventh session"): 64 ch on 56x56 and 128 on 28x28 at batch 1 (784 and 196 tiles) won 1.2-1.5x,
    /// 256 on 14x14 won at batch 8 (392 tiles, 1.18x) and lost at batch 1 (49 tiles, 0.93x); 512 on 7x7 lost at batch 1
    /// and at batch 8 (16 and 128 tiles, 0.57x and 0.71x); 32-64 ch on 14x14 and 28x28 lost (earlier measurement).
    /// </summary>
    public static bool Pays(in ConvGeometry g, int batch)
    {
        long t2 = (long)batch * TilesPerImage(g, 2);
        return Supports(g) && Math.Min(g.C, g.O) >= 64 && t2 >= 196;
    }

    /// <summary>The runtime's output tile side: 4 where an image has at least <see cref="F4MinTiles"/> F(4x4) tiles, else 2.</summary>
    public static int RuntimeTile(in ConvGeometry g) => TilesPerImage(g, 4) >= F4MinTiles ? 4 : 2;

    /// <summary>Transforms and packs the weights [O, C, 3, 3]; <paramref name="bias"/> [O] or empty; <paramref name="m"/> the output tile side, 4 or 2.</summary>
    public WinogradConv(ConvGeometry g, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, int m = 4, SimdLevel? level = null)
    {
        if (m != 4 && m != 2) throw new ArgumentException($"Winograd output tile must be 4 or 2, got {m}");
        g = g with { N = 1 };
        g.Validate();
        if (!Supports(g)) throw new ArgumentException($"Winograd convolution needs a 3x3 kernel, stride 1, dilation 1 and groups = 1, got {g.KH}x{g.KW} stride {g.SH}x{g.SW} dilation {g.DH}x{g.DW} groups {g.Groups}");
        ConvGeometry.CheckLength(w.Length, g.WeightSize, "w", g.WeightShapeText);
        if (bias.Length != 0) ConvGeometry.CheckLength(bias.Length, g.O, "bias", $"[{g.O}]");
        _g = g;
        _bias = bias.ToArray();
        _m = m; _alpha = m + 2; _xi = _alpha * _alpha;
        _th = (g.OH + m - 1) / m;
        _tw = (g.OW + m - 1) / m;
        _blocks = (_tw + Lanes - 1) / Lanes;
        _rowWidth = _blocks * Lanes * m + Lanes;
        var u = WinogradReference.TransformWeights(w, g.O, g.C, m);
        var lv = level ?? NarrowLevel(_th * _tw);
        _u = new GemmPackedA[_xi];
        for (int xi = 0; xi < _xi; xi++) _u[xi] = new GemmPackedA(u.AsSpan(xi * g.O * g.C, g.O * g.C), g.O, g.C, lv);
    }

    /// <summary>
    /// The SIMD level of the GEMMs: <see cref="Gemm.Isa"/>, or the 16-column AVX2 kernel when an image has so few tiles
    /// that whole 32-column tiles of the AVX-512 kernel would be mostly padding (e.g. 16 tiles of a 14x14 plane).
    /// </summary>
    private static SimdLevel NarrowLevel(int tiles)
    {
        var isa = Gemm.Isa;
        if (isa != SimdLevel.Vector512) return isa;
        int wide = GemmPack.Tile(SimdLevel.Vector512).Nr, narrow = GemmPack.Tile(SimdLevel.Vector256Fma).Nr;
        return 4 * ((tiles + narrow - 1) / narrow * narrow) < 3 * ((tiles + wide - 1) / wide * wide) ? SimdLevel.Vector256Fma : isa;
    }

    /// <summary>The geometry of one image.</summary>
    public ConvGeometry Geometry => _g;
    /// <summary>Output tile side m of F(m x m, 3x3).</summary>
    public int TileSide => _m;
    /// <summary>Floats per chunk buffer (tests shrink it to run one image per chunk).</summary>
    internal int ChunkFloats { get; init; } = ChunkElements;
    /// <summary>Output tiles of one image.</summary>
    public int Tiles => _th * _tw;
    /// <summary>Bytes of the transformed, packed weights.</summary>
    public long WeightBytes => _u.Sum(p => p.Bytes);

    /// <summary>
    /// y = act(conv(x) + bias [+ residual]) for a batch; <paramref name="residual"/> is empty or shaped like y, and
    /// y overlaps neither x nor the residual.
    /// </summary>
    public void Forward(int batch,
        ReadOnlySpan<float> x,        // [N, C, H, W]
        Span<float> y,                // [N, O, OH, OW]
        ReadOnlySpan<float> residual, // [N, O, OH, OW] or empty
        bool relu, int threads)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), $"batch must be >= 1, got {batch}");
        var g = _g with { N = batch };
        ConvGeometry.CheckLength(x.Length, g.InputSize, "x", g.InputShapeText);
        ConvGeometry.CheckLength(y.Length, g.OutputSize, "y", g.OutputShapeText);
        if (residual.Length != 0) ConvGeometry.CheckLength(residual.Length, g.OutputSize, "residual", g.OutputShapeText);
        threads = ConvParallel.Resolve(threads);
        int perImage = _th * _tw;
        int xis = _xi, images = Math.Clamp(ChunkFloats / (xis * Math.Max(g.C, g.O) * perImage), 1, batch);
        int ldMax = Ld(images) + RowPad;
        float[] v = ArrayPool<float>.Shared.Rent(xis * g.C * ldMax + CacheLines.Floats), m = ArrayPool<float>.Shared.Rent(xis * g.O * ldMax + CacheLines.Floats);
        try
        {
            fixed (float* px = x, py = y, pr = residual, pv = v, pm = m)
            {
                float* xs = px, ys = py, rs = residual.Length != 0 ? pr : null, vs = CacheLines.Align(pv), ms = CacheLines.Align(pm);
                for (int i0 = 0; i0 < batch; i0 += images)
                {
                    int count = Math.Min(images, batch - i0), ld = Ld(count), n = count * perImage, first = i0;
                    var lv = Layout(ChannelMajor(g.C), g.C, ld);
                    var lm = Layout(ChannelMajor(g.O), g.O, ld);
                    long work = (long)perImage * count * xis * 4;
                    // whole channels per part, images in order: an image's last 16-tile block overhangs into the next
                    // image's first tiles, which that image then overwrites (see InputTransform), so they must not race
                    ConvParallel.For(g.C, threads, work * count, (a, b) => InputTransform(xs, first, count, a * count, b * count, vs, lv, ld, n));
                    ConvParallel.For(xis, threads, (long)g.O * g.C * n, (a, b) =>
                    {
                        for (int xi = a; xi < b; xi++)
                        {
                            float* vx = vs + xi * lv.Xi, mx = ms + xi * lm.Xi;
                            _u[xi].Multiply(new ReadOnlySpan<float>(vx, (int)((g.C - 1) * lv.Channel + ld)), (int)lv.Channel, n,
                                new Span<float>(mx, (int)((g.O - 1) * lm.Channel + ld)), (int)lm.Channel, 0, g.O);
                            for (int o = 0; o < g.O && ld > n; o++) new Span<float>(mx + o * lm.Channel + n, ld - n).Clear(); // read (and discarded) by the last blocks
                        }
                    });
                    ConvParallel.For(g.O * count, threads, work, (a, b) => OutputTransform(ms, lm, first, count, a, b, ys, rs, relu));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(v);
            ArrayPool<float>.Shared.Return(m);
        }
    }

    /// <summary>Most channels for which V (input channels) or M (output channels) is stored channel-major.</summary>
    public const int ChannelMajorMaxChannels = 64;

    /// <summary>
    /// Whether V (or M) with <paramref name="channels"/> rows per GEMM is stored channel-major: each (channel, xi) row
    /// then lies on its own page for the GEMM, which walks its depth a row at a time, so only up to 64 channels (the
    /// first-level TLB here holds 72 entries). Channel-major, the input transform writes a channel's 36 rows next to each
    /// other (2 MB of scattered stores had gone to the third-level cache) and the output transform reads them so.
    /// ResNet18, 2 threads, in the network (`/work/exp/wgl`, one process, cores apart): layer1's F(4x4) convs (64
    /// channels) 356-442 us against 439-496 us transform-point-major; layer2's F(2x2) convs (128 channels) went the
    /// other way channel-major (525-580 against 450-480 us), so they stay as they were. One thread, layer1 alone: 410-429
    /// against 592-612 us (input transform 72-83 against 226-245 us).
    /// </summary>
    private static bool ChannelMajor(int channels) => channels <= ChannelMajorMaxChannels;

    /// <summary>Where element (channel, xi, column) of V or M lies: channel x <see cref="Channel"/> + xi x <see cref="Xi"/> + column.</summary>
    private readonly record struct Strides(long Channel, long Xi);

    /// <summary>
    /// The layout of V [C] or M [O] for rows of <paramref name="ld"/> columns: channel-major ([channel][xi][ld + pad],
    /// a channel's transformed rows together) or transform-point-major ([xi][channel][ld], each GEMM's matrix together).
    /// </summary>
    private Strides Layout(bool channelMajor, int channels, int ld) =>
        channelMajor ? new Strides((long)_xi * (ld + RowPad), ld + RowPad) : new Strides(ld, (long)channels * ld);

    /// <summary>Column stride of the chunk's matrices: whole micro-kernel tiles, and room for the last 16-tile block's overhang.</summary>
    private int Ld(int images)
    {
        int n = images * _th * _tw, end = (images - 1) * _th * _tw + (_th - 1) * _tw + _blocks * Lanes;
        int nr = _u[0].Nr;
        return (Math.Max(n, end) + nr - 1) / nr * nr;
    }

    /// <summary>
    /// Items [a, b) = (input channel, image in chunk), image fastest: V(c, xi, tile) for every tile of that image, laid out
    /// as <paramref name="lv"/> says. Each
    /// 16-tile block is stored whole, its lanes past the tile row spilling into the next tiles' columns, which the same
    /// thread overwrites afterwards (tile rows and images of one channel run in order on one thread).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void InputTransform(float* x, int first, int count, int a, int b, float* v, Strides lv, int ld, int n)
    {
        var g = _g;
        int rw = _rowWidth, hp = _th * _m + 2, perImage = _th * _tw;
        float[] buf = ArrayPool<float>.Shared.Rent(hp * rw + _alpha * rw);
        try
        {
            fixed (float* pb = buf)
            {
                float* plane = pb, tv = pb + hp * rw;
                for (int item = a; item < b; item++)
                {
                    int c = item / count, img = item % count;
                    // padded plane: input row iy at padded row iy + PH, column ix at ix + PW, zero elsewhere
                    new Span<float>(plane, hp * rw).Clear();
                    float* xc = x + ((long)(first + img) * g.C + c) * g.H * g.W;
                    for (int iy = 0; iy < g.H; iy++)
                    {
                        int py = iy + g.PH;
                        if (py >= hp) break;
                        int cols = Math.Min(g.W, rw - g.PW);
                        new ReadOnlySpan<float>(xc + (long)iy * g.W, cols).CopyTo(new Span<float>(plane + py * rw + g.PW, cols));
                    }
                    long colBase = (long)img * perImage;
                    if (img == count - 1 && ld > n) // columns past the chunk's tiles: finite (zero) for the GEMM's whole tiles
                        for (int xi = 0; xi < _xi; xi++) new Span<float>(v + c * lv.Channel + xi * lv.Xi + n, ld - n).Clear();
                    for (int ty = 0; ty < _th; ty++)
                    {
                        float* rows = plane + ty * _m * rw, dst = v + c * lv.Channel + colBase + ty * _tw;
                        if (_m == 4)
                        {
                            VerticalInput(rows, rw, tv);
                            for (int bx = 0; bx < _blocks; bx++) HorizontalInput(tv, rw, bx * Lanes * 4, dst + bx * Lanes, lv.Xi);
                        }
                        else
                        {
                            VerticalInput2(rows, rw, tv);
                            for (int bx = 0; bx < _blocks; bx++) HorizontalInput2(tv, rw, bx * Lanes * 2, dst + bx * Lanes, lv.Xi);
                        }
                    }
                }
            }
        }
        finally { ArrayPool<float>.Shared.Return(buf); }
    }

    /// <summary>tv[k][x] = sum_i BT[k, i] rows[i][x] over whole padded rows (contiguous vectors).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VerticalInput(float* rows, int rw, float* tv)
    {
        for (int x = 0; x < rw; x += Lanes)
        {
            var d0 = Vector512.Load(rows + x); var d1 = Vector512.Load(rows + rw + x); var d2 = Vector512.Load(rows + 2 * rw + x);
            var d3 = Vector512.Load(rows + 3 * rw + x); var d4 = Vector512.Load(rows + 4 * rw + x); var d5 = Vector512.Load(rows + 5 * rw + x);
            BT(d0, d1, d2, d3, d4, d5, out var o0, out var o1, out var o2, out var o3, out var o4, out var o5);
            o0.Store(tv + x); o1.Store(tv + rw + x); o2.Store(tv + 2 * rw + x);
            o3.Store(tv + 3 * rw + x); o4.Store(tv + 4 * rw + x); o5.Store(tv + 5 * rw + x);
        }
    }

    /// <summary>
    /// For 16 tiles starting at padded column x0: the stride-4 phases d[j][t] = tv[k][x0 + 4 t + j] (j = 0..5) of each
    /// vertical row k, their horizontal transform, stored as V[k 6 + l][tile] (rows <paramref name="xiStride"/> apart).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void HorizontalInput(float* tv, int rw, int x0, float* v, long xiStride)
    {
        for (int k = 0; k < 6; k++)
        {
            float* r = tv + k * rw + x0;
            Phases(r, out var d0, out var d1, out var d2, out var d3, out var d4, out var d5);
            BT(d0, d1, d2, d3, d4, d5, out var o0, out var o1, out var o2, out var o3, out var o4, out var o5);
            float* dst = v + k * 6 * xiStride;
            o0.Store(dst); o1.Store(dst + xiStride); o2.Store(dst + 2 * xiStride);
            o3.Store(dst + 3 * xiStride); o4.Store(dst + 4 * xiStride); o5.Store(dst + 5 * xiStride);
        }
    }

    /// <summary>d_j[t] = r[4 t + j] for t in 0..15, j in 0..5 (reads r[0, 80)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Phases(float* r, out Vector512<float> d0, out Vector512<float> d1, out Vector512<float> d2,
        out Vector512<float> d3, out Vector512<float> d4, out Vector512<float> d5)
    {
        if (Avx512F.IsSupported)
        {
            var a = Vector512.Load(r); var b = Vector512.Load(r + 16); var c = Vector512.Load(r + 32); var d = Vector512.Load(r + 48);
            var e = Vector512.Load(r + 64);
            d0 = Phase(a, b, c, d, 0); d1 = Phase(a, b, c, d, 1); d2 = Phase(a, b, c, d, 2); d3 = Phase(a, b, c, d, 3);
            // phases 4 and 5 are phases 0 and 1 shifted by one tile: lane t takes lane t + 1, lane 15 the next block's lane 0
            var shift = Vector512.Create(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
            d4 = Avx512F.PermuteVar16x32x2(d0, shift, Vector512.CreateScalar(e[0]));
            d5 = Avx512F.PermuteVar16x32x2(d1, shift, Vector512.CreateScalar(e[1]));
            return;
        }
        PhasesScalar(r, 4, 6, out d0, out d1, out d2, out d3, out d4, out d5);
    }

    /// <summary>d_j[t] = r[stride t + j] for j below <paramref name="count"/> (the rest zero): the loop the permutes replace.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void PhasesScalar(float* r, int stride, int count, out Vector512<float> d0, out Vector512<float> d1, out Vector512<float> d2,
        out Vector512<float> d3, out Vector512<float> d4, out Vector512<float> d5)
    {
        float* s = stackalloc float[6 * Lanes];
        new Span<float>(s, 6 * Lanes).Clear();
        for (int j = 0; j < count; j++)
            for (int t = 0; t < Lanes; t++) s[j * Lanes + t] = r[stride * t + j];
        d0 = Vector512.Load(s); d1 = Vector512.Load(s + 16); d2 = Vector512.Load(s + 32);
        d3 = Vector512.Load(s + 48); d4 = Vector512.Load(s + 64); d5 = Vector512.Load(s + 80);
    }

    /// <summary>Lanes t = r[4 t + j] of the 64 floats a|b|c|d (8 from a|b, 8 from c|d, joined by 128-bit halves).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Phase(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d, int j)
    {
        var idx = Vector512.Create(j, j + 4, j + 8, j + 12, j + 16, j + 20, j + 24, j + 28, j, j + 4, j + 8, j + 12, j + 16, j + 20, j + 24, j + 28);
        var lo = Avx512F.PermuteVar16x32x2(a, idx, b);
        var hi = Avx512F.PermuteVar16x32x2(c, idx, d);
        return Avx512F.Shuffle4x128(lo, hi, 0b01_00_01_00);
    }

    /// <summary>The 1-D input transform o = B^T d of F(4, 3) (points 0, 1, -1, 2, -2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BT(Vector512<float> d0, Vector512<float> d1, Vector512<float> d2, Vector512<float> d3, Vector512<float> d4, Vector512<float> d5,
        out Vector512<float> o0, out Vector512<float> o1, out Vector512<float> o2, out Vector512<float> o3, out Vector512<float> o4, out Vector512<float> o5)
    {
        var four = Vector512.Create(4f); var m4 = Vector512.Create(-4f); var m5 = Vector512.Create(-5f); var two = Vector512.Create(2f);
        o0 = Vector512.FusedMultiplyAdd(four, d0, Vector512.FusedMultiplyAdd(m5, d2, d4));
        o5 = Vector512.FusedMultiplyAdd(four, d1, Vector512.FusedMultiplyAdd(m5, d3, d5));
        var t1 = Vector512.FusedMultiplyAdd(m4, d2, d4); // d4 - 4 d2
        var t2 = Vector512.FusedMultiplyAdd(m4, d1, d3); // d3 - 4 d1
        o1 = t1 + t2; o2 = t1 - t2;
        var t3 = d4 - d2;
        var t4 = two * (d3 - d1);
        o3 = t3 + t4; o4 = t3 - t4;
    }

    /// <summary>Items [a, b) = (image in chunk, output channel), channel fastest: y[img, o] from M(o, xi, tiles), laid out as <paramref name="lm"/> says.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OutputTransform(float* m, Strides lm, int first, int count, int a, int b, float* y, float* residual, bool relu)
    {
        var g = _g;
        int plane = g.OH * g.OW, perImage = _th * _tw, side = _m;
        float* rows = stackalloc float[4 * 4 * Lanes]; // output rows i of the block, 16 m columns each
        float* t = stackalloc float[4 * 6 * Lanes];
        long xiStride = lm.Xi;
        for (int item = a; item < b; item++)
        {
            int img = item / g.O, o = item % g.O;
            float bias = _bias.Length == 0 ? 0f : _bias[o];
            long outOff = ((long)(first + img) * g.O + o) * plane;
            float* mo = m + o * lm.Channel + (long)img * perImage;
            for (int ty = 0; ty < _th; ty++)
                for (int bx = 0; bx < _blocks; bx++)
                {
                    float* src = mo + ty * _tw + bx * Lanes;
                    if (side == 4) OutputBlock(src, xiStride, t, rows);
                    else OutputBlock2(src, xiStride, t, rows);
                    int x0 = bx * Lanes * side, cols = Math.Min(Lanes * side, g.OW - x0);
                    for (int i = 0; i < side; i++)
                    {
                        int oy = ty * side + i;
                        if (oy >= g.OH) break;
                        long off = outOff + (long)oy * g.OW + x0;
                        Epilogue(rows + i * Lanes * side, y + off, residual == null ? null : residual + off, cols, bias, relu);
                    }
                }
        }
    }

    /// <summary>
    /// F(4, 3) output transform of 16 tiles: horizontal A^T per transformed row k (t[j][k], j the output column phase),
    /// vertical A^T per phase, phases interleaved back into 64 contiguous columns per output row: rows[i 64 + 4 t + j].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutputBlock(float* src, long xiStride, float* t, float* rows)
    {
        for (int k = 0; k < 6; k++)
        {
            float* s = src + k * 6 * xiStride;
            AT(Vector512.Load(s), Vector512.Load(s + xiStride), Vector512.Load(s + 2 * xiStride),
                Vector512.Load(s + 3 * xiStride), Vector512.Load(s + 4 * xiStride), Vector512.Load(s + 5 * xiStride),
                out var o0, out var o1, out var o2, out var o3);
            o0.Store(t + (0 * 6 + k) * Lanes); o1.Store(t + (1 * 6 + k) * Lanes);
            o2.Store(t + (2 * 6 + k) * Lanes); o3.Store(t + (3 * 6 + k) * Lanes);
        }
        Vector512<float> p00, p01, p02, p03, p10, p11, p12, p13, p20, p21, p22, p23, p30, p31, p32, p33;
        Vertical(t, out p00, out p10, out p20, out p30);
        Vertical(t + 6 * Lanes, out p01, out p11, out p21, out p31);
        Vertical(t + 12 * Lanes, out p02, out p12, out p22, out p32);
        Vertical(t + 18 * Lanes, out p03, out p13, out p23, out p33);
        Interleave(p00, p01, p02, p03, rows);
        Interleave(p10, p11, p12, p13, rows + 64);
        Interleave(p20, p21, p22, p23, rows + 128);
        Interleave(p30, p31, p32, p33, rows + 192);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Vertical(float* s, out Vector512<float> o0, out Vector512<float> o1, out Vector512<float> o2, out Vector512<float> o3) =>
        AT(Vector512.Load(s), Vector512.Load(s + 16), Vector512.Load(s + 32), Vector512.Load(s + 48),
            Vector512.Load(s + 64), Vector512.Load(s + 80), out o0, out o1, out o2, out o3);

    /// <summary>F(2, 3) output transform of 16 tiles: rows[i 32 + 2 t + j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutputBlock2(float* src, long xiStride, float* t, float* rows)
    {
        for (int k = 0; k < 4; k++)
        {
            float* s = src + k * 4 * xiStride;
            AT2(Vector512.Load(s), Vector512.Load(s + xiStride), Vector512.Load(s + 2 * xiStride), Vector512.Load(s + 3 * xiStride), out var o0, out var o1);
            o0.Store(t + k * Lanes); o1.Store(t + (4 + k) * Lanes);
        }
        AT2(Vector512.Load(t), Vector512.Load(t + 16), Vector512.Load(t + 32), Vector512.Load(t + 48), out var p00, out var p10);
        AT2(Vector512.Load(t + 64), Vector512.Load(t + 80), Vector512.Load(t + 96), Vector512.Load(t + 112), out var p01, out var p11);
        Interleave2(p00, p01, rows);
        Interleave2(p10, p11, rows + 32);
    }

    /// <summary>The 1-D output transform o = A^T m of F(2, 3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AT2(Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3, out Vector512<float> o0, out Vector512<float> o1)
    {
        o0 = m0 + m1 + m2;
        o1 = m1 - m2 - m3;
    }

    /// <summary>dst[2 t + j] = p_j[t] (32 floats).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Interleave2(Vector512<float> p0, Vector512<float> p1, float* dst)
    {
        if (Avx512F.IsSupported)
        {
            Avx512F.PermuteVar16x32x2(p0, Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), p1).Store(dst);
            Avx512F.PermuteVar16x32x2(p0, Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), p1).Store(dst + 16);
            return;
        }
        for (int t = 0; t < Lanes; t++) { dst[2 * t] = p0[t]; dst[2 * t + 1] = p1[t]; }
    }

    /// <summary>F(2, 3) vertical input pass: tv[k][x] = sum_i BT2[k, i] rows[i][x].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VerticalInput2(float* rows, int rw, float* tv)
    {
        for (int x = 0; x < rw; x += Lanes)
        {
            var d0 = Vector512.Load(rows + x); var d1 = Vector512.Load(rows + rw + x);
            var d2 = Vector512.Load(rows + 2 * rw + x); var d3 = Vector512.Load(rows + 3 * rw + x);
            (d0 - d2).Store(tv + x); (d1 + d2).Store(tv + rw + x); (d2 - d1).Store(tv + 2 * rw + x); (d1 - d3).Store(tv + 3 * rw + x);
        }
    }

    /// <summary>F(2, 3) horizontal input pass on 16 tiles from padded column x0: phases d_j[t] = tv[k][x0 + 2 t + j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void HorizontalInput2(float* tv, int rw, int x0, float* v, long xiStride)
    {
        for (int k = 0; k < 4; k++)
        {
            float* r = tv + k * rw + x0;
            Vector512<float> d0, d1, d2, d3;
            if (Avx512F.IsSupported)
            {
                var a = Vector512.Load(r); var b = Vector512.Load(r + 16); var e = Vector512.Load(r + 32);
                d0 = Avx512F.PermuteVar16x32x2(a, Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
                d1 = Avx512F.PermuteVar16x32x2(a, Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
                var shift = Vector512.Create(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
                d2 = Avx512F.PermuteVar16x32x2(d0, shift, Vector512.CreateScalar(e[0]));
                d3 = Avx512F.PermuteVar16x32x2(d1, shift, Vector512.CreateScalar(e[1]));
            }
            else PhasesScalar(r, 2, 4, out d0, out d1, out d2, out d3, out _, out _);
            float* dst = v + k * 4 * xiStride;
            (d0 - d2).Store(dst); (d1 + d2).Store(dst + xiStride); (d2 - d1).Store(dst + 2 * xiStride); (d1 - d3).Store(dst + 3 * xiStride);
        }
    }

    /// <summary>The 1-D output transform o = A^T m of F(4, 3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AT(Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3, Vector512<float> m4, Vector512<float> m5,
        out Vector512<float> o0, out Vector512<float> o1, out Vector512<float> o2, out Vector512<float> o3)
    {
        var s12 = m1 + m2; var d12 = m1 - m2; var s34 = m3 + m4; var d34 = m3 - m4;
        o0 = m0 + s12 + s34;
        o1 = Vector512.FusedMultiplyAdd(Vector512.Create(2f), d34, d12);
        o2 = Vector512.FusedMultiplyAdd(Vector512.Create(4f), s34, s12);
        o3 = Vector512.FusedMultiplyAdd(Vector512.Create(8f), d34, d12) + m5;
    }

    /// <summary>dst[4 t + j] = p_j[t]: 16 tiles' 4 output columns back in row order (64 floats).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Interleave(Vector512<float> p0, Vector512<float> p1, Vector512<float> p2, Vector512<float> p3, float* dst)
    {
        if (Avx512F.IsSupported)
        {
            var zipLo = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            var zipHi = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            var a0 = Avx512F.PermuteVar16x32x2(p0, zipLo, p1); var a1 = Avx512F.PermuteVar16x32x2(p0, zipHi, p1); // (p0, p1) pairs
            var b0 = Avx512F.PermuteVar16x32x2(p2, zipLo, p3); var b1 = Avx512F.PermuteVar16x32x2(p2, zipHi, p3); // (p2, p3) pairs
            var pairLo = Vector512.Create(0L, 8, 1, 9, 2, 10, 3, 11);
            var pairHi = Vector512.Create(4L, 12, 5, 13, 6, 14, 7, 15);
            Avx512F.PermuteVar8x64x2(a0.AsDouble(), pairLo, b0.AsDouble()).AsSingle().Store(dst);
            Avx512F.PermuteVar8x64x2(a0.AsDouble(), pairHi, b0.AsDouble()).AsSingle().Store(dst + 16);
            Avx512F.PermuteVar8x64x2(a1.AsDouble(), pairLo, b1.AsDouble()).AsSingle().Store(dst + 32);
            Avx512F.PermuteVar8x64x2(a1.AsDouble(), pairHi, b1.AsDouble()).AsSingle().Store(dst + 48);
            return;
        }
        for (int t = 0; t < Lanes; t++)
        {
            dst[4 * t] = p0[t]; dst[4 * t + 1] = p1[t]; dst[4 * t + 2] = p2[t]; dst[4 * t + 3] = p3[t];
        }
    }

    /// <summary>d[0..n) = act(row + bias + r).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Epilogue(float* row, float* d, float* r, int n, float bias, bool relu)
    {
        var vb = Vector512.Create(bias);
        int j = 0;
        for (; j <= n - Lanes; j += Lanes)
        {
            var v = Vector512.Load(row + j) + vb;
            if (r != null) v += Vector512.Load(r + j);
            if (relu) v = Vector512.Max(v, Vector512<float>.Zero);
            v.Store(d + j);
        }
        for (; j < n; j++)
        {
            float v = row[j] + bias;
            if (r != null) v += r[j];
            d[j] = relu ? MathF.Max(v, 0f) : v;
        }
    }
}

using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// The small-plane half of <see cref="PackedConv"/> on AVX-512: an indirect GEMM with output positions as rows and
/// output channels as columns, <c>Y^T[N OH OW, O] = X~[N OH OW, K] W^T[K, O]</c>, where X~ (the im2col matrix) is never
/// built. A row sliver is a run of up to <see cref="_mr"/> (7 or 8) output positions within one output row, and the
/// input values those positions meet at any (c, ky, kx) are consecutive floats of the zero-padded input, so the
/// micro-kernel reads them in place through a per-depth offset table. With a column stride S the padded rows are stored
/// as S column phases (phase p holds the padded columns p, p + S, ...): positions ox .. ox + 7 meet the columns
/// S ox + kx DW, which all lie in phase (kx DW) mod S at consecutive places.
/// </summary>
/// <remarks>
/// Per call the input is copied once into the zero-padded (phase-split) buffer (a few hundred KB on the planes this
/// serves, against the K-times larger unfolded matrix <see cref="ConvPositionRows"/> writes and reads). The sliver
/// length is 7 where that tiles the output rows with fewer unused positions than 8 (ResNet planes of 7, 14, 28, 56
/// and 112 columns: none instead of 1/8). Threads split the 32-channel blocks
/// when they share out evenly and the weights are the larger operand (each thread reads only its share of the weights
/// and all of the small padded input, from its own copy), otherwise the row slivers (each thread pads just the input
/// rows its slivers read, into its own copy, and multiplies its positions by all the weights); either way no cache line
/// a thread writes is read by another in the same call (with the unfolded
/// matrix, written half by each core and read whole by both, two threads had been no faster than one). Each output element is reduced in the same order whatever the thread count. Pointwise
/// convolutions without padding run the whole plane as one row (slivers may cross output rows); strided ones copy only
/// the inputs they read, as a [C, OH, OW] plane.
/// </remarks>
internal sealed unsafe class ConvIndirect
{
    private const int Nr = 32;
    private const int ChunkWeightBytes = 256 << 10; // packed weights up to this size are re-read per chunk of slivers
    private const int ChunkAccBytes = 128 << 10;    // products of one chunk of slivers

    private readonly ConvGeometry _g;     // N = 1
    private readonly float[] _w;          // [k blocks][O padded to Nr][kc], sliver j at p0 OPad + j Nr kc (empty when _huge holds them)
    private readonly HugePageWeights? _huge; // the same on 2 MB pages when large (the deep layers stream them at batch 1)
    private readonly int[] _off;          // [K] offset of (c, ky, kx) in the padded input
    private readonly int _mr;             // positions per sliver: 7 or 8
    private readonly int _kc, _oPad, _hp, _wq, _rowFloats, _imageFloats, _rowLen, _rows, _slivers;
    private readonly bool _flat;          // 1x1 without padding: the (subsampled) plane is one row
    private readonly bool _sub;           // 1x1 strided without padding: the copy holds only the inputs used, [C, OH, OW]
    private readonly bool _inputHeavy;    // one padded image holds more floats than the weights: split positions, not channels

    /// <summary>A 1x1 strided convolution without padding: the copy holds only the inputs it reads ([C, OH, OW]).</summary>
    internal static bool StridedPointwise(in ConvGeometry g) =>
        g.KH == 1 && g.KW == 1 && g.PH == 0 && g.PW == 0 && (g.SH > 1 || g.SW > 1);

    /// <summary>True where this layout applies: AVX-512, groups 1.</summary>
    public static bool Supports(in ConvGeometry g, SimdLevel level) => level == SimdLevel.Vector512 && g.Groups == 1;

    public ConvIndirect(in ConvGeometry g, ReadOnlySpan<float> w) // w: [O, K]
    {
        _g = g;
        _kc = GemmPack.DepthBlock(g.GroupK);
        _oPad = (g.O + Nr - 1) / Nr * Nr;
        _w = GemmPack.RowSlivers(w, g.O, g.GroupK, Nr, _kc);
        _huge = HugePageWeights.TryCopy(_w);
        if (_huge is not null) _w = [];
        _flat = g.KH == 1 && g.KW == 1 && g.PH == 0 && g.PW == 0;
        _sub = StridedPointwise(g);
        _hp = _sub ? g.OH : g.H + 2 * g.PH;
        int wp = g.W + 2 * g.PW;
        _wq = _sub ? g.OW : (wp + g.SW - 1) / g.SW; // floats of one column phase of a padded row
        _rowFloats = _sub ? g.OW : g.SW * _wq;      // a padded row: SW phases (= wp for stride 1); the subsampled row
        _imageFloats = g.C * _hp * _rowFloats;
        _rowLen = _flat ? g.OutPlane : g.OW;
        _rows = _flat ? 1 : g.OH;
        _mr = SliverLength(_rowLen);
        _inputHeavy = (long)_imageFloats > (long)g.GroupK * g.O;
        _slivers = _rows * ((_rowLen + _mr - 1) / _mr);
        _off = new int[g.GroupK];
        int k = 0;
        for (int c = 0; c < g.C; c++)
            for (int ky = 0; ky < g.KH; ky++)
                for (int kx = 0; kx < g.KW; kx++)
                    _off[k++] = c * _hp * _rowFloats + ky * g.DH * _rowFloats + kx * g.DW % g.SW * _wq + kx * g.DW / g.SW;
    }

    /// <summary>7 where slivers of 7 leave fewer positions of a row unused than slivers of 8, else 8.</summary>
    internal static int SliverLength(int rowLen) => Unused(rowLen, 7) < Unused(rowLen, 8) ? 7 : 8;

    private static int Unused(int rowLen, int mr) => (rowLen + mr - 1) / mr * mr - rowLen;

    public long Bytes => 4L * (_huge?.Length ?? _w.Length) + 4L * _off.Length;

    private static long s_calls;                   // numbers the calls, so a thread knows whether its copy is of this one
    [ThreadStatic] private static long t_call;
    [ThreadStatic] private static float[]? t_padded; // pinned

    /// <summary>
    /// This thread's own padded copy of the input for call <paramref name="call"/>, made when the thread takes its first
    /// range of channel blocks. Every thread reads all of the padded input there; a copy shared out over the threads
    /// (written half by each) had each thread's micro-kernels read the other half from the other core's cache, which
    /// on cores that share no cache (a host that placed the VM's two vCPUs apart) made ResNet18 ~6 % slower at batch 1
    /// (copying the whole input on each thread costs nothing measurable when the cores share a cache).
    /// </summary>
    private float* OwnPadded(float* x, int batch, long padLen, long call)
    {
        float* xp = ThreadBuffer(padLen);
        if (t_call != call)
        {
            Pad(x, batch, xp, padLen, threads: 1); // on this thread alone
            t_call = call;
        }
        return xp;
    }

    /// <summary>This thread's pinned buffer of at least <paramref name="padLen"/> floats (grown when smaller), cache-line aligned.</summary>
    private static float* ThreadBuffer(long padLen)
    {
        var buf = t_padded;
        if (buf is null || buf.Length < padLen + CacheLines.Floats)
            t_padded = buf = GC.AllocateUninitializedArray<float>((int)padLen + CacheLines.Floats, pinned: true);
        return CacheLines.Align((float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(buf)));
    }

    public void Forward(int batch, float* x, float* y, float* residual, float[] bias, bool relu, int threads)
    {
        int total = batch * _slivers, blocks = _oPad / Nr;
        int padThreads = ConvParallel.Resolve(threads), t = (long)_g.Macs * batch < 1 << 16 ? 1 : padThreads;
        // channel blocks when they share out evenly and the weights are the larger operand (small planes): each thread
        // then reads only its part of the weights and all of the small padded input, from its own copy (OwnPadded);
        // otherwise position slivers, each thread padding just the rows (or positions) its slivers read into its own
        // copy (OwnRows). ResNet18's layer2 3x3/2 (input 2.7x the weights) had split channels with a copy of the whole
        // 56 x 56 x 64 input on each thread: 311-317 us, against 262-266 us by positions (2 threads, same process)
        bool byChannels = t > 1 && blocks >= t && (blocks % t == 0 || blocks >= 2 * t) && !_inputHeavy;
        bool ownRows = t > 1 && !byChannels;
        // the slack covers the last sliver's over-read (up to 7 positions past a row's end)
        long padLen = (long)batch * _imageFloats + _rowFloats + 8;
        float[] padded = byChannels || ownRows ? [] : ArrayPool<float>.Shared.Rent((int)padLen + CacheLines.Floats);
        float[] accArr = ArrayPool<float>.Shared.Rent(total * _mr * _oPad + CacheLines.Floats);
        try
        {
            fixed (float* pp = padded, pacc = accArr)
            {
                float* xp = pp == null ? null : CacheLines.Align(pp), acc = CacheLines.Align(pacc); // threads write side by side: no shared lines
                if (!byChannels && !ownRows) Pad(x, batch, xp, padLen, padThreads);
                int n = byChannels ? blocks : total, parts = t > 1 ? ConvParallel.Parts(n, t) : 1;
                long call = Interlocked.Increment(ref s_calls);
                WorkerPool.RunRanges(n, parts, t, (a, b) =>
                {
                    if (byChannels) Block(OwnPadded(x, batch, padLen, call), acc, 0, total, a, b, y, residual, bias, relu);
                    else Block(ownRows ? OwnRows(x, batch, padLen, a, b) : xp, acc, a, b, 0, blocks, y, residual, bias, relu);
                });
            }
        }
        finally
        {
            if (padded.Length != 0) ArrayPool<float>.Shared.Return(padded);
            ArrayPool<float>.Shared.Return(accArr);
            GC.KeepAlive(this); // _huge's memory stays until the last part has read it
        }
    }

    /// <summary>
    /// The zero-padded, phase-split copy of the batch, planes shared out over the threads (a serial copy of a 56 x 56 x 64
    /// input was a tenth of the call, all of it on one core). Only the border rows and each row's own floats are
    /// cleared (clearing the whole buffer first wrote it twice).
    /// </summary>
    private void Pad(float* x, int batch, float* xp, long padLen, int threads)
    {
        long n = (long)batch * _imageFloats;
        new Span<float>(xp + n, (int)(padLen - n)).Clear(); // slack past the last image
        ConvParallel.For(batch * _g.C, threads, (long)_g.H * _g.W, (p0, p1) =>
        {
            for (int plane = p0; plane < p1; plane++) PadPlane(x, xp, plane);
        });
    }

    private void PadPlane(float* x, float* xp, int plane)
    {
        if (_sub) Subsample(x, xp, plane, 0, _g.OutPlane);
        else PadPlaneRows(x, xp, plane, 0, _hp);
    }

    /// <summary>Output positions [q0, q1) of one plane of a 1x1 strided convolution: the inputs they read, [OH, OW] in the copy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Subsample(float* x, float* xp, int plane, int q0, int q1)
    {
        var g = _g;
        float* src = x + (long)plane * g.H * g.W, dst = xp + (long)plane * g.OutPlane;
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        for (int q = q0; q < q1;)
        {
            int oy = q / g.OW, ox = q % g.OW, end = Math.Min(g.OW, ox + q1 - q);
            float* s = src + (long)oy * g.SH * g.W, d = dst + (long)oy * g.OW;
            int i = ox;
            if (g.SW == 2 && Vector512.IsHardwareAccelerated)
                for (; i + 16 <= end && 2 * i + 32 <= g.W; i += 16)
                    Avx512F.PermuteVar16x32x2(Vector512.Load(s + 2 * i), even, Vector512.Load(s + 2 * i + 16)).Store(d + i);
            for (; i < end; i++) d[i] = s[i * g.SW];
            q += end - ox;
        }
    }

    /// <summary>Padded rows [r0, r1) of one plane (cleared as one run, then each input row's floats filled in).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PadPlaneRows(float* x, float* xp, int plane, int r0, int r1)
    {
        var g = _g;
        float* src = x + (long)plane * g.H * g.W, dst = xp + (long)plane * _hp * _rowFloats;
        if (g.PH == 0 && g.PW == 0 && g.SW == 1)
        {   // rows stay as they are: the rows are one run
            new ReadOnlySpan<float>(src + (long)r0 * g.W, (r1 - r0) * g.W).CopyTo(new Span<float>(dst + (long)r0 * g.W, (r1 - r0) * g.W));
            return;
        }
        int sw = g.SW;
        new Span<float>(dst + (long)r0 * _rowFloats, (r1 - r0) * _rowFloats).Clear(); // the rows are one run: one clear, then each row's own floats
        bool masked = sw == 1 && g.W <= 2 * 16 && Avx512F.IsSupported;
        Vector512<float> m0 = masked ? LaneMask.Below(Math.Min(g.W, 16)) : default, m1 = masked ? LaneMask.Below(g.W - 16) : default;
        for (int pr = r0; pr < r1; pr++)
        {
            float* d = dst + (long)pr * _rowFloats;
            int iy = pr - g.PH;
            if (iy < 0 || iy >= g.H) continue;
            float* s = src + iy * g.W;
            if (masked)
            {   // rows of up to 32 floats (ResNet18's 14 and 7): two masked moves instead of a copy call per row
                Avx512F.MaskStore(d + g.PW, m0, Avx512F.MaskLoad(s, m0, Vector512<float>.Zero));
                if (g.W > 16) Avx512F.MaskStore(d + g.PW + 16, m1, Avx512F.MaskLoad(s + 16, m1, Vector512<float>.Zero));
                continue;
            }
            if (sw == 1) { new ReadOnlySpan<float>(s, g.W).CopyTo(new Span<float>(d + g.PW, g.W)); continue; }
            if (sw == 2) { Deinterleave2(s, g.W, d, g.PW, _wq); continue; }
            for (int ix = 0; ix < g.W; ix++)
            {
                int col = ix + g.PW;
                d[col % sw * _wq + col / sw] = s[ix];
            }
        }
    }

    /// <summary>
    /// This thread's own buffer with the padded rows that slivers [s0, s1) read filled in (each row at its place in the
    /// full padded batch; other rows are left as they are and never read by these slivers' used positions).
    /// </summary>
    private float* OwnRows(float* x, int batch, long padLen, int s0, int s1)
    {
        float* xp = ThreadBuffer(padLen);
        long n = (long)batch * _imageFloats;
        new Span<float>(xp + n, (int)(padLen - n)).Clear(); // slack past the last image
        var g = _g;
        var (imgA, rowA, xA) = Sliver(s0);
        var (imgB, rowB, xB) = Sliver(s1 - 1);
        if (_flat)
        {   // the slivers' positions of every channel (a flat plane is one row)
            int plane = _hp * _rowFloats;
            for (int img = imgA; img <= imgB; img++)
            {
                int qa = img == imgA ? xA : 0, qb = img == imgB ? Math.Min(_rowLen, xB + _mr) : _rowLen;
                for (int c = 0; c < g.C; c++)
                    if (_sub) Subsample(x, xp, img * g.C + c, qa, qb);
                    else new ReadOnlySpan<float>(x + (long)(img * g.C + c) * plane + qa, qb - qa).CopyTo(new Span<float>(xp + (long)(img * g.C + c) * plane + qa, qb - qa));
            }
            return xp;
        }
        for (int img = imgA; img <= imgB; img++)
        {
            int first = img == imgA ? rowA : 0, last = img == imgB ? rowB : _rows - 1;
            int p0 = first * g.SH, p1 = Math.Min(_hp, last * g.SH + (g.KH - 1) * g.DH + 1);
            for (int c = 0; c < g.C; c++) PadPlaneRows(x, xp, img * g.C + c, p0, p1);
        }
        return xp;
    }

    /// <summary>Writes the n floats of s as padded columns pw .. pw + n - 1 split into two phases of wq floats (even columns, then odd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Deinterleave2(float* s, int n, float* d, int pw, int wq)
    {
        // padded column pw + ix goes to phase (pw + ix) & 1 at (pw + ix) >> 1; from an even padded column on,
        // 32 inputs give 16 evens and 16 odds
        int ix = 0;
        for (; ix < n && ((pw + ix) & 1) != 0; ix++) d[wq + ((pw + ix) >> 1)] = s[ix];
        if (Vector512.IsHardwareAccelerated)
        {
            var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            var odd = even + Vector512<int>.One;
            for (; ix + 32 <= n; ix += 32)
            {
                var a = Vector512.Load(s + ix); var b = Vector512.Load(s + ix + 16);
                int at = (pw + ix) >> 1;
                Avx512F.PermuteVar16x32x2(a, even, b).Store(d + at);
                Avx512F.PermuteVar16x32x2(a, odd, b).Store(d + wq + at);
            }
            // rows of 14 and 28 (ResNet18's layer3 and layer4 3x3/2 inputs) went almost all scalar: 16 and 8 at a time
            // took the per-thread padded copy of those layers from 66 to 25 us and from 38 to 25 us (layer2's 70 -> 45)
            var split = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
            for (; ix + 16 <= n; ix += 16)
            {
                var v = Avx512F.PermuteVar16x32(Vector512.Load(s + ix), split);
                int at = (pw + ix) >> 1;
                v.GetLower().Store(d + at);
                v.GetUpper().Store(d + wq + at);
            }
        }
        if (Avx2.IsSupported)
        {
            var split = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
            for (; ix + 8 <= n; ix += 8)
            {
                var v = Avx2.PermuteVar8x32(Vector256.Load(s + ix), split);
                int at = (pw + ix) >> 1;
                v.GetLower().Store(d + at);
                v.GetUpper().Store(d + wq + at);
            }
        }
        for (; ix < n; ix++)
        {
            int col = pw + ix;
            d[(col & 1) * wq + (col >> 1)] = s[ix];
        }
    }

    /// <summary>Row slivers [s0, s1) of the stacked batch times channel blocks [j0, j1): products into acc, then the NCHW epilogue.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Block(float* xp, float* acc, int s0, int s1, int j0, int j1, float* y, float* residual, float[] bias, bool relu)
    {
        int k = _g.GroupK;
        var bases = ArrayPool<long>.Shared.Rent(s1 - s0);
        try
        {
            for (int s = s0; s < s1; s++)
            {
                var (img, row, x0) = Sliver(s);
                bases[s - s0] = (long)img * _imageFloats + (_flat ? x0 : (long)row * _g.SH * _rowFloats + x0);
            }
            // with small weights and a large plane (a stem) the slivers go in chunks whose products stay in L2 until
            // their epilogue; where the weights are the larger operand they are read once (one chunk)
            int chunk = 4L * k * _oPad <= ChunkWeightBytes ? Math.Max(1, ChunkAccBytes / (4 * _mr * _oPad)) : s1 - s0;
            fixed (float* managed = _w)
            fixed (int* off = _off)
                for (int c0 = s0; c0 < s1; c0 += chunk)
                {
                    float* w = _huge is not null ? _huge.Pointer : managed;
                    int c1 = Math.Min(s1, c0 + chunk);
                    for (int p0 = 0; p0 < k; p0 += _kc)
                    {
                        int kc = Math.Min(_kc, k - p0);
                        bool accumulate = p0 > 0;
                        for (int j = j0; j < j1; j++)
                        {
                            float* b = w + (long)p0 * _oPad + (long)j * Nr * kc;
                            // the panel this thread multiplies next (the next channel block, else the next depth block's first)
                            float* next = j + 1 < j1 ? b + Nr * kc
                                : p0 + _kc < k ? w + (long)(p0 + _kc) * _oPad + (long)j0 * Nr * Math.Min(_kc, k - p0 - _kc) : null;
                            if (_mr == 7) Slivers<Rows7>(kc, xp, bases, s0, c0, c1, off + p0, b, next, acc + j * Nr, accumulate);
                            else Slivers<Rows8>(kc, xp, bases, s0, c0, c1, off + p0, b, next, acc + j * Nr, accumulate);
                        }
                    }
                    Epilogue(acc, c0, c1, j0 * Nr, Math.Min(_g.O, j1 * Nr), y, residual, bias, relu);
                }
        }
        finally { ArrayPool<long>.Shared.Return(bases); }
    }

    /// <summary>
    /// One weight panel (kc x 32) times slivers [s0, s1) (bases[s - first]: sliver s's first input float). At batch 1 on small planes the weights are the large operand and
    /// come from memory (a ResNet's deep layers hold more than the L3): the first sliver waits for the panel while the
    /// later ones find it in L1, so the second and third slivers each pull half of the next panel into the caches (one line per
    /// depth step), overlapping the next block's memory stream with this block's arithmetic.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Slivers<TRows>(int kc, float* xp, long[] bases, int first, int s0, int s1, int* off, float* b, float* next, float* acc, bool accumulate)
        where TRows : struct, IRows
    {
        int mr = TRows.Count;
        for (int s = s0; s < s1; s++)
        {
            float* a = xp + bases[s - first], c = acc + (long)s * mr * _oPad;
            int q = s - s0;
            if (next != null && (q == 1 || q == 2))
                Kernel<TRows, Prefetch>(kc, a, off, b, c, _oPad, accumulate, next + (long)(q - 1) * kc * 16);
            else
                Kernel<TRows, NoPrefetch>(kc, a, off, b, c, _oPad, accumulate, null);
        }
    }

    /// <summary>Row sliver s of the stacked batch: its image, output row (0 when the plane is one row) and first column.</summary>
    private (int Img, int Row, int X0) Sliver(int s)
    {
        int perRow = (_rowLen + _mr - 1) / _mr, r = s % _slivers;
        return (s / _slivers, r / perRow, r % perRow * _mr);
    }

    /// <summary>Rows of a micro-kernel tile (a type parameter, so that the JIT compiles one kernel per count with the unused rows removed).</summary>
    private interface IRows { static abstract int Count { get; } }
    private struct Rows7 : IRows { public static int Count => 7; }
    private struct Rows8 : IRows { public static int Count => 8; }

    /// <summary>Whether a micro-kernel call also prefetches one line of the next weight panel per depth step.</summary>
    private interface IPrefetch { static abstract bool On { get; } }
    private struct Prefetch : IPrefetch { public static bool On => true; }
    private struct NoPrefetch : IPrefetch { public static bool On => false; }

    /// <summary>R x 32 tile (R = 7 or 8): c[r, 0..32) (+)= sum_p a[off[p] + r] b[p, 0..32); with TPf, line p of pf into the caches too
    /// (prefetcht0: 0.962-0.977 of prefetcht1's ResNet18 batch-1 time in four in-process A/B runs on the EPYC test machine).</summary>
    /// <remarks>
    /// Its own method, never inlined: inlined into <see cref="Block"/>, the loop sat wherever the large method put it, and
    /// how fast it ran depended on the process. ResNet18's layer4 3x3 convs took ~500 us in some processes and 840-1,050 us
    /// in others (the "slow batch-1 state" of earlier sessions: 1.18-1.20 of ONNX Runtime in 5 of 6 fresh processes); as a
    /// method of its own, 0 of 14 processes were slow (0.92-1.02 of ONNX Runtime). docs/RESULTS.md, "Sixteenth session".
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Kernel<TRows, TPf>(int kc, float* a, int* off, float* b, float* c, nint ldc, bool accumulate, float* pf)
        where TRows : struct, IRows where TPf : struct, IPrefetch
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            float* ap = a + off[p];
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 16);
            var a0 = Vector512.Create(ap[0]); c00 = Vector512.FusedMultiplyAdd(a0, b0, c00); c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector512.Create(ap[1]); c10 = Vector512.FusedMultiplyAdd(a1, b0, c10); c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector512.Create(ap[2]); c20 = Vector512.FusedMultiplyAdd(a2, b0, c20); c21 = Vector512.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector512.Create(ap[3]); c30 = Vector512.FusedMultiplyAdd(a3, b0, c30); c31 = Vector512.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector512.Create(ap[4]); c40 = Vector512.FusedMultiplyAdd(a4, b0, c40); c41 = Vector512.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector512.Create(ap[5]); c50 = Vector512.FusedMultiplyAdd(a5, b0, c50); c51 = Vector512.FusedMultiplyAdd(a5, b1, c51);
            var a6 = Vector512.Create(ap[6]); c60 = Vector512.FusedMultiplyAdd(a6, b0, c60); c61 = Vector512.FusedMultiplyAdd(a6, b1, c61);
            if (TRows.Count == 8) { var a7 = Vector512.Create(ap[7]); c70 = Vector512.FusedMultiplyAdd(a7, b0, c70); c71 = Vector512.FusedMultiplyAdd(a7, b1, c71); }
            if (TPf.On) { Sse.Prefetch0(pf); pf += 16; }
            b += Nr;
        }
        Store(c, c00, c01, accumulate); Store(c + ldc, c10, c11, accumulate);
        Store(c + 2 * ldc, c20, c21, accumulate); Store(c + 3 * ldc, c30, c31, accumulate);
        Store(c + 4 * ldc, c40, c41, accumulate); Store(c + 5 * ldc, c50, c51, accumulate);
        Store(c + 6 * ldc, c60, c61, accumulate);
        if (TRows.Count == 8) Store(c + 7 * ldc, c70, c71, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector512<float> v0, Vector512<float> v1, bool accumulate)
    {
        if (accumulate) { v0 += Vector512.Load(c); v1 += Vector512.Load(c + 16); }
        v0.Store(c); v1.Store(c + 16);
    }

    /// <summary>
    /// y[img, o, q] = act(acc[sliver, q, o] + bias[o] + residual[img, o, q]) for the slivers' valid positions. Eight
    /// channels at a time the sliver's position-major tile is transposed in registers (8 x 8), so each channel's run of
    /// positions is read, finished and written as one vector (masked where a row ends early); a scalar loop does the last
    /// channels when O is not a multiple of 8. On a large plane with few input channels (a stem) the element-by-element
    /// transpose had cost about as much as the products.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Epilogue(float* acc, int s0, int s1, int c0, int c1, float* y, float* residual, float[] bias, bool relu)
    {
        int plane = _g.OutPlane, o = _g.O;
        float* t = stackalloc float[64];
        for (int s = s0; s < s1; s++)
        {
            var (img, row, x0) = Sliver(s);
            int count = Math.Min(_mr, _rowLen - x0), q0 = (_flat ? 0 : row * _g.OW) + x0;
            float* src = acc + (long)s * _mr * _oPad;
            int c = c0;
            if (Avx.IsSupported)
            {
                var mask = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(count)).AsSingle();
                for (; c + 8 <= c1; c += 8)
                {
                    Transpose8(src + c, _oPad, _mr, t);
                    for (int k = 0; k < 8; k++)
                    {
                        long at = ((long)img * o + c + k) * plane + q0;
                        var v = Vector256.Load(t + 8 * k);
                        if (bias.Length != 0) v += Vector256.Create(bias[c + k]);
                        if (residual != null) v += count == 8 ? Vector256.Load(residual + at) : Avx.MaskLoad(residual + at, mask);
                        if (relu) v = Vector256.Max(v, Vector256<float>.Zero);
                        if (count == 8) v.Store(y + at); else Avx.MaskStore(y + at, mask, v);
                    }
                }
            }
            for (; c < c1; c++)
            {
                float bc = bias.Length == 0 ? 0f : bias[c];
                long at = ((long)img * o + c) * plane + q0;
                float* d = y + at, res = residual == null ? null : residual + at;
                for (int i = 0; i < count; i++)
                {
                    float v = src[(long)i * _oPad + c] + bc;
                    if (res != null) v += res[i];
                    d[i] = relu ? MathF.Max(v, 0f) : v;
                }
            }
        }
    }

    /// <summary>dst[8 k + i] = src[i ld + k] for i &lt; rows (7 or 8; row 7 reads as zero when absent), k &lt; 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(float* src, nint ld, int rows, float* dst)
    {
        var r0 = Vector256.Load(src); var r1 = Vector256.Load(src + ld);
        var r2 = Vector256.Load(src + 2 * ld); var r3 = Vector256.Load(src + 3 * ld);
        var r4 = Vector256.Load(src + 4 * ld); var r5 = Vector256.Load(src + 5 * ld);
        var r6 = Vector256.Load(src + 6 * ld); var r7 = rows == 8 ? Vector256.Load(src + 7 * ld) : Vector256<float>.Zero;
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).Store(dst); Avx.Permute2x128(u1, u5, 0x20).Store(dst + 8);
        Avx.Permute2x128(u2, u6, 0x20).Store(dst + 16); Avx.Permute2x128(u3, u7, 0x20).Store(dst + 24);
        Avx.Permute2x128(u0, u4, 0x31).Store(dst + 32); Avx.Permute2x128(u1, u5, 0x31).Store(dst + 40);
        Avx.Permute2x128(u2, u6, 0x31).Store(dst + 48); Avx.Permute2x128(u3, u7, 0x31).Store(dst + 56);
    }
}

using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// The small-plane half of <see cref="PackedConv"/>: output positions of the whole batch as GEMM rows and output
/// channels as columns, <c>Y^T[N OH OW, O] = Rows[N OH OW, K] W^T[K, O]</c>, so the micro-kernel's wide side runs over
/// channels (always whole tiles in CNNs) instead of a 49- or 196-position plane that leaves tiles mostly empty.
/// </summary>
/// <remarks>
/// W^T is packed once into NR-column slivers per depth block (zero-padded channels); each call unfolds the batch into
/// MR-position slivers (<see cref="Im2ColSegment"/> with row stride MR, which is exactly the micro-kernel's k-major A
/// layout), multiplies with depth blocks outside so each kc x NR weight block stays in L1 while every position sliver
/// streams by (weights read once per call), and finally writes the transposed result into the NCHW output with bias,
/// residual and ReLU. Threads split the channel slivers; every output element is reduced in the same order whatever
/// the thread count.
/// </remarks>
internal sealed unsafe class ConvPositionRows
{
    private readonly ConvGeometry _g; // N = 1
    private readonly float[] _w;      // [k blocks][O padded to NR][kc], sliver j at p0 OPad + j NR kc
    private readonly int _kc, _oPad, _mr, _nr;
    private readonly SimdLevel _level;

    public ConvPositionRows(in ConvGeometry g, ReadOnlySpan<float> w, SimdLevel level) // w: [O, K]
    {
        _g = g; _level = level;
        (_mr, _nr) = GemmPack.Tile(level);
        _kc = GemmPack.DepthBlock(g.GroupK);
        _oPad = (g.O + _nr - 1) / _nr * _nr;
        _w = GemmPack.RowSlivers(w, g.O, g.GroupK, _nr, _kc); // W [O, K] rows = columns of W^T
    }

    public long Bytes => 4L * _w.Length;

    public void Forward(int batch, float* x, float* y, float* residual, float[] bias, bool relu, int threads)
    {
        int plane = _g.OutPlane, k = _g.GroupK, m = batch * plane;
        int slivers = (m + _mr - 1) / _mr, mPad = slivers * _mr, jCount = _oPad / _nr;
        float[] rows = ArrayPool<float>.Shared.Rent(mPad * k + CacheLines.Floats), acc = ArrayPool<float>.Shared.Rent(mPad * _oPad + CacheLines.Floats);
        try
        {
            fixed (float* pr = rows, pc = acc)
            {
                float* rp = CacheLines.Align(pr), cp = CacheLines.Align(pc); // threads write side by side: no shared lines
                ConvParallel.For(slivers, threads, (long)_mr * k, (s0, s1) => PackSlivers(x, batch, s0, s1, rp));
                ConvParallel.For(jCount, threads, (long)mPad * k * _nr, (j0, j1) =>
                {
                    switch (_level)
                    {
                        case SimdLevel.Vector512: Multiply<GemmKernel512>(rp, slivers, cp, j0, j1); break;
                        case SimdLevel.Vector256Fma: Multiply<GemmKernel256>(rp, slivers, cp, j0, j1); break;
                        default: Multiply<GemmKernelScalar>(rp, slivers, cp, j0, j1); break;
                    }
                    Scatter(cp, batch, y, residual, bias, relu, j0 * _nr, Math.Min(_g.O, j1 * _nr));
                });
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rows);
            ArrayPool<float>.Shared.Return(acc);
        }
    }

    /// <summary>
    /// Slivers [s0, s1): positions [s MR, s MR + MR) of the stacked batch, k-major [K, MR] (zero past the batch). Built
    /// through a cache-sized ordinary im2col chunk [K, L] (long contiguous runs), whose rows are then cut into MR-wide
    /// pieces: sliver row k is chunk[k, s MR - start .. + MR).
    /// </summary>
    private void PackSlivers(float* x, int batch, int s0, int s1, float* rows)
    {
        int plane = _g.OutPlane, k = _g.GroupK, imageSize = _g.C * _g.H * _g.W, total = batch * plane;
        int chunk = Math.Max(_mr, PackedConv.SegmentElements / k / _mr * _mr);
        float[] temp = ArrayPool<float>.Shared.Rent(k * chunk);
        try
        {
            fixed (float* t = temp)
                for (int c0 = s0 * _mr; c0 < s1 * _mr; c0 += chunk)
                {
                    int len = Math.Min(chunk, s1 * _mr - c0), filled = Math.Max(0, Math.Min(total, c0 + len) - c0);
                    for (int m = c0; m < c0 + filled;)
                    {
                        int img = m / plane, q = m % plane, n = Math.Min(c0 + filled - m, plane - q);
                        Im2ColSegment.Pack(_g, x + (long)img * imageSize, q, n, t + (m - c0), chunk, keepTail: true);
                        m += n;
                    }
                    if (filled < len)
                        for (int r = 0; r < k; r++) new Span<float>(t + (long)r * chunk + filled, len - filled).Clear();
                    for (int s = c0 / _mr; s < (c0 + len) / _mr; s++)
                    {
                        float* dst = rows + (long)s * _mr * k, src = t + (s * _mr - c0);
                        if (_mr == 8 && Vector256.IsHardwareAccelerated)
                            for (int r = 0; r < k; r++) Vector256.Store(Vector256.Load(src + (long)r * chunk), dst + r * 8);
                        else
                            for (int r = 0; r < k; r++)
                                for (int i = 0; i < _mr; i++) dst[r * _mr + i] = src[(long)r * chunk + i];
                    }
                }
        }
        finally { ArrayPool<float>.Shared.Return(temp); }
    }

    /// <summary>acc[:, j NR .. j1 NR) = Rows W^T over all depth blocks (weight block in L1, position slivers streaming).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Multiply<TK>(float* rows, int slivers, float* acc, int j0, int j1) where TK : struct, IGemmKernel
    {
        int k = _g.GroupK;
        fixed (float* w = _w)
        for (int p0 = 0; p0 < k; p0 += _kc)
        {
            int kc = Math.Min(_kc, k - p0);
            float beta = p0 == 0 ? 0f : 1f;
            for (int j = j0; j < j1; j++)
            {
                float* b = w + (long)p0 * _oPad + (long)j * _nr * kc;
                for (int s = 0; s < slivers; s++)
                    TK.Run(kc, rows + (long)s * _mr * k + (long)p0 * _mr, b, _nr, acc + (long)s * _mr * _oPad + j * _nr, _oPad, 1f, beta);
            }
        }
    }

    /// <summary>y[img, o, q] = act(acc[img P + q, o] + bias[o] + residual[img, o, q]) for channels [o0, o1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Scatter(float* acc, int batch, float* y, float* residual, float[] bias, bool relu, int o0, int o1)
    {
        int plane = _g.OutPlane, o = _g.O;
        for (int img = 0; img < batch; img++)
            for (int c = o0; c < o1; c++)
            {
                float b = bias.Length == 0 ? 0f : bias[c];
                long off = ((long)img * o + c) * plane;
                float* d = y + off, r = residual == null ? null : residual + off, src = acc + (long)img * plane * _oPad + c;
                for (int q = 0; q < plane; q++)
                {
                    float v = src[(long)q * _oPad] + b;
                    if (r != null) v += r[q];
                    d[q] = relu ? MathF.Max(v, 0f) : v;
                }
            }
    }
}

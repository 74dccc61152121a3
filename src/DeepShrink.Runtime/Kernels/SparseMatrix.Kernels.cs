using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Runtime.Kernels;

public sealed partial class SparseMatrix
{
    /// <inheritdoc/>
    public void MultiplyRows(ReadOnlySpan<float> x, int batch, Span<float> y, int threads) => MultiplyRows(x, batch, y, threads, SimdPath.Auto);

    /// <inheritdoc/>
    public void MultiplyColumns(ReadOnlySpan<float> x, int n, Span<float> y, int threads) => MultiplyColumns(x, n, y, threads, SimdPath.Auto);

    /// <summary><see cref="MultiplyRows(ReadOnlySpan{float}, int, Span{float}, int)"/> on a chosen instruction path.</summary>
    /// <remarks>
    /// AVX-512: the register-permute kernel straight on the row-major batch (four samples share each
    /// slot's decoding). Other paths transpose the batch and run the row kernel over input rows.
    /// </remarks>
    internal void MultiplyRows(ReadOnlySpan<float> x, int batch, Span<float> y, int threads, SimdPath path) // x: [batch, Cols], y: [batch, Rows]
    {
        MatrixChecks.Rows(this, x.Length, batch, y.Length, threads);
        if (batch == 0 || Rows == 0) return;
        path = Resolve(path);
        if (path == SimdPath.Avx512)
        {
            Vectors(x, batch, y, threads);
            return;
        }
        if (batch == 1)
        {
            RowProducts(x, 1, y, threads, path);
            return;
        }
        float[] xt = ArrayPool<float>.Shared.Rent(Cols * batch), yt = ArrayPool<float>.Shared.Rent(Rows * batch);
        try
        {
            Transpose.Run(x, batch, Cols, xt);
            RowProducts(xt, batch, yt, threads, path);
            Transpose.Run(yt, Rows, batch, y);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(xt);
            ArrayPool<float>.Shared.Return(yt);
        }
    }

    /// <summary><see cref="MultiplyColumns(ReadOnlySpan{float}, int, Span{float}, int)"/> on a chosen instruction path.</summary>
    internal void MultiplyColumns(ReadOnlySpan<float> x, int n, Span<float> y, int threads, SimdPath path) // x: [Cols, n], y: [Rows, n]
    {
        MatrixChecks.Columns(this, x.Length, n, y.Length, threads);
        if (n == 0 || Rows == 0) return;
        path = Resolve(path);
        if (n == 1 && path == SimdPath.Avx512) Vectors(x[..Cols], 1, y[..Rows], threads);
        else RowProducts(x, n, y, threads, path);
    }

    private static SimdPath Resolve(SimdPath path)
    {
        bool avx512 = Avx512F.IsSupported && Avx2.IsSupported;
        if (path == SimdPath.Avx512 && !avx512) path = SimdPath.Vector256;
        if (path == SimdPath.Vector256 && !Vector256.IsHardwareAccelerated) path = SimdPath.Vector128;
        if (path == SimdPath.Vector128 && !Vector128.IsHardwareAccelerated) path = SimdPath.Scalar;
        if (path != SimdPath.Auto) return path;
        return avx512 ? SimdPath.Avx512 : Vector256.IsHardwareAccelerated ? SimdPath.Vector256
            : Vector128.IsHardwareAccelerated ? SimdPath.Vector128 : SimdPath.Scalar;
    }

    /// <summary>y[b] = W x[b] for every sample with the register-permute kernel (AVX-512); threads take blocks of chunks.</summary>
    private unsafe void Vectors(ReadOnlySpan<float> x, int batch, Span<float> y, int threads) // x: [batch, Cols], y: [batch, Rows]
    {
        int useful = RuntimeParallel.Useful(Nonzeros * batch, Chunks, threads);
        fixed (float* px = x, py = y)
        {
            float* xp = px, yp = py;
            if (useful == 1) VectorChunks(xp, batch, yp, 0, Chunks);
            else RuntimeParallel.For(Chunks, useful, (c0, c1) => VectorChunks(xp, batch, yp, c0, c1));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void VectorChunks(float* x, int batch, float* y, int c0, int c1) // x: [batch, Cols], y: [batch, Rows]
    {
        const int Group = 4;
        float* tails = stackalloc float[Group * Window];
        int full = Cols / Window;
        fixed (int* bs = _blockStart)
        fixed (ushort* sl = _slots)
        fixed (float* cent = _centroids, vals = _values)
        {
            for (int b = 0; b < batch; b += Group)
            {
                int g = Math.Min(Group, batch - b);
                new Span<float>(tails, Group * Window).Clear();
                for (int j = 0; full < Windows && j < g; j++)
                    new ReadOnlySpan<float>(x + (long)(b + j) * Cols + full * Window, Cols - full * Window).CopyTo(new Span<float>(tails + j * Window, Window));
                var src = new WindowSource(x + (long)b * Cols, Cols, tails, full);
                var dst = new ChunkTarget(y + (long)b * Rows, Rows);
                if (CodebookSize == 0) VectorChunks(new StoredWeights(vals), src, dst, g, bs, sl, c0, c1);
                else if (CodebookSize <= Window) VectorChunks(new PermutedWeights(Vector512.Load(cent), Vector512.Load(cent + 16)), src, dst, g, bs, sl, c0, c1);
                else VectorChunks(new GatheredWeights(cent), src, dst, g, bs, sl, c0, c1);
            }
        }
    }

    /// <summary>Chunks c0..c1-1 for one sample, or four at once (each slot row decoded once for all four).</summary>
    /// <remarks>Every sample keeps two accumulators (even and odd slot rows), so a sample's result does not depend on its group.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void VectorChunks<TW>(TW weights, WindowSource src, ChunkTarget dst, int samples, int* bs, ushort* sl, int c0, int c1) where TW : struct, ISlotWeights
    {
        for (int c = c0; c < c1; c++)
        {
            int* block = bs + c * Windows;
            if (samples < 4)
            {
                for (int j = 0; j < samples; j++)
                {
                    Vector512<float> a0 = default, a1 = default;
                    for (int w = 0; w < Windows; w++)
                    {
                        long s = block[w], end = block[w + 1];
                        if (s == end) continue;
                        float* xw = src.At(j, w);
                        Vector512<float> lo = Vector512.Load(xw), hi = Vector512.Load(xw + 16);
                        for (; s + 2 <= end; s += 2)
                        {
                            var v0 = Avx512F.ConvertToVector512Int32(Vector256.Load(sl + s * Lanes));
                            var v1 = Avx512F.ConvertToVector512Int32(Vector256.Load(sl + (s + 1) * Lanes));
                            a0 = Avx512F.FusedMultiplyAdd(weights.Get(v0, s), Avx512F.PermuteVar16x32x2(lo, v0, hi), a0);
                            a1 = Avx512F.FusedMultiplyAdd(weights.Get(v1, s + 1), Avx512F.PermuteVar16x32x2(lo, v1, hi), a1);
                        }
                        if (s < end)
                        {
                            var v = Avx512F.ConvertToVector512Int32(Vector256.Load(sl + s * Lanes));
                            a0 = Avx512F.FusedMultiplyAdd(weights.Get(v, s), Avx512F.PermuteVar16x32x2(lo, v, hi), a0);
                        }
                    }
                    dst.Store(j, c, a0 + a1, Rows);
                }
                continue;
            }
            Vector512<float> e0 = default, o0 = default, e1 = default, o1 = default, e2 = default, o2 = default, e3 = default, o3 = default;
            for (int w = 0; w < Windows; w++)
            {
                long s = block[w], end = block[w + 1];
                if (s == end) continue;
                float* x0 = src.At(0, w), x1 = src.At(1, w), x2 = src.At(2, w), x3 = src.At(3, w);
                Vector512<float> l0 = Vector512.Load(x0), h0 = Vector512.Load(x0 + 16), l1 = Vector512.Load(x1), h1 = Vector512.Load(x1 + 16);
                Vector512<float> l2 = Vector512.Load(x2), h2 = Vector512.Load(x2 + 16), l3 = Vector512.Load(x3), h3 = Vector512.Load(x3 + 16);
                for (; s < end; s++)
                {   // even offsets from the block start go to e*, odd to o* (as in the one-sample loop)
                    var v = Avx512F.ConvertToVector512Int32(Vector256.Load(sl + s * Lanes));
                    var wv = weights.Get(v, s);
                    e0 = Avx512F.FusedMultiplyAdd(wv, Avx512F.PermuteVar16x32x2(l0, v, h0), e0);
                    e1 = Avx512F.FusedMultiplyAdd(wv, Avx512F.PermuteVar16x32x2(l1, v, h1), e1);
                    e2 = Avx512F.FusedMultiplyAdd(wv, Avx512F.PermuteVar16x32x2(l2, v, h2), e2);
                    e3 = Avx512F.FusedMultiplyAdd(wv, Avx512F.PermuteVar16x32x2(l3, v, h3), e3);
                    if (++s >= end) break;
                    v = Avx512F.ConvertToVector512Int32(Vector256.Load(sl + s * Lanes));
                    wv = weights.Get(v, s);
                    o0 = Avx512F.FusedMultiplyAdd(wv, Avx512F.PermuteVar16x32x2(l0, v, h0), o0);
                    o1 = Avx512F.FusedMultiplyAdd(wv, Avx512F.PermuteVar16x32x2(l1, v, h1), o1);
                    o2 = Avx512F.FusedMultiplyAdd(wv, Avx512F.PermuteVar16x32x2(l2, v, h2), o2);
                    o3 = Avx512F.FusedMultiplyAdd(wv, Avx512F.PermuteVar16x32x2(l3, v, h3), o3);
                }
            }
            dst.Store(0, c, e0 + o0, Rows); dst.Store(1, c, e1 + o1, Rows); dst.Store(2, c, e2 + o2, Rows); dst.Store(3, c, e3 + o3, Rows);
        }
    }

    /// <summary>Y[r, :] = sum over the row's nonzeros of W[r, c] X[c, :] for every row (threads take blocks of rows).</summary>
    private unsafe void RowProducts(ReadOnlySpan<float> x, int n, Span<float> y, int threads, SimdPath path) // x: [Cols, n], y: [Rows, n]
    {
        int useful = RuntimeParallel.Useful(Nonzeros * n, Rows, threads);
        fixed (float* px = x, py = y)
        {
            float* xp = px, yp = py;
            if (useful == 1) RowProducts(xp, n, yp, 0, Rows, path);
            else RuntimeParallel.For(Rows, useful, (r0, r1) => RowProducts(xp, n, yp, r0, r1, path));
        }
    }

    private unsafe void RowProducts(float* x, int n, float* y, int r0, int r1, SimdPath path)
    {
        fixed (int* bs = _blockStart)
        fixed (ushort* sl = _slots)
        fixed (float* cent = _centroids, vals = _values)
        {
            var layout = new Layout(bs, sl, CodebookSize > 0 ? cent : null, vals, Windows);
            switch (path)
            {
                case SimdPath.Avx512: RowProducts<Ops512, Vector512<float>>(layout, x, n, y, r0, r1); break;
                case SimdPath.Vector256: RowProducts<Ops256, Vector256<float>>(layout, x, n, y, r0, r1); break;
                case SimdPath.Vector128: RowProducts<Ops128, Vector128<float>>(layout, x, n, y, r0, r1); break;
                default: RowTails(layout, x, n, y, r0, r1, 0); break;
            }
        }
    }

    /// <summary>
    /// Output rows r0..r1-1 in tiles of four vectors, then one vector, then scalars. Each tile walks the
    /// row's slots window by window (stopping at the block's padding) and adds W[r, c] X[c, tile].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RowProducts<TOps, TV>(Layout l, float* x, int n, float* y, int r0, int r1)
        where TOps : struct, IVectorOps<TV> where TV : struct
    {
        int vw = TOps.Count, wide = n - n % (4 * vw), narrow = n - n % vw;
        for (int r = r0; r < r1; r++)
        {
            int* block = l.BlockStart + r / Lanes * l.Windows;
            ushort* lane = l.Slots + r % Lanes;
            float* yr = y + (long)r * n;
            for (int j = 0; j < wide; j += 4 * vw)
            {
                TV a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
                for (int w = 0; w < l.Windows; w++)
                {
                    float* xw = x + (long)w * Window * n + j;
                    for (long s = block[w], end = block[w + 1]; s < end; s++)
                    {
                        ushort v = lane[s * Lanes];
                        if ((v & PadFlag) != 0) break;
                        var wv = TOps.Broadcast(l.Weight(v, s * Lanes + r % Lanes));
                        float* xp = xw + (long)(v & OffsetMask) * n;
                        a0 = TOps.MultiplyAdd(wv, TOps.Load(xp), a0);
                        a1 = TOps.MultiplyAdd(wv, TOps.Load(xp + vw), a1);
                        a2 = TOps.MultiplyAdd(wv, TOps.Load(xp + 2 * vw), a2);
                        a3 = TOps.MultiplyAdd(wv, TOps.Load(xp + 3 * vw), a3);
                    }
                }
                TOps.Store(a0, yr + j); TOps.Store(a1, yr + j + vw); TOps.Store(a2, yr + j + 2 * vw); TOps.Store(a3, yr + j + 3 * vw);
            }
            for (int j = wide; j < narrow; j += vw)
            {
                TV a = TOps.Zero;
                for (int w = 0; w < l.Windows; w++)
                {
                    float* xw = x + (long)w * Window * n + j;
                    for (long s = block[w], end = block[w + 1]; s < end; s++)
                    {
                        ushort v = lane[s * Lanes];
                        if ((v & PadFlag) != 0) break;
                        a = TOps.MultiplyAdd(TOps.Broadcast(l.Weight(v, s * Lanes + r % Lanes)), TOps.Load(xw + (long)(v & OffsetMask) * n), a);
                    }
                }
                TOps.Store(a, yr + j);
            }
        }
        if (narrow < n) RowTails(l, x, n, y, r0, r1, narrow);
    }

    /// <summary>Columns j0..n-1 of output rows r0..r1-1, one element at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RowTails(Layout l, float* x, int n, float* y, int r0, int r1, int j0)
    {
        for (int r = r0; r < r1; r++)
        {
            int* block = l.BlockStart + r / Lanes * l.Windows;
            ushort* lane = l.Slots + r % Lanes;
            for (int j = j0; j < n; j++)
            {
                float a = 0f;
                for (int w = 0; w < l.Windows; w++)
                    for (long s = block[w], end = block[w + 1]; s < end; s++)
                    {
                        ushort v = lane[s * Lanes];
                        if ((v & PadFlag) != 0) break;
                        a += l.Weight(v, s * Lanes + r % Lanes) * x[((long)w * Window + (v & OffsetMask)) * n + j];
                    }
                y[(long)r * n + j] = a;
            }
        }
    }

    /// <summary>Pointers to the pinned layout arrays.</summary>
    private readonly unsafe struct Layout(int* blockStart, ushort* slots, float* centroids, float* values, int windows)
    {
        public int* BlockStart => blockStart;
        public ushort* Slots => slots;
        public int Windows => windows;

        /// <summary>Weight of a slot: its centroid, or its stored value when there is no codebook.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Weight(ushort slot, long index) => centroids != null ? centroids[slot >> 8] : values[index];
    }

    /// <summary>Where sample j's window w starts: in its row of x, or in a zero-padded copy of its last partial window.</summary>
    private readonly unsafe struct WindowSource(float* x, int stride, float* tails, int fullWindows)
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float* At(int j, int w) => w < fullWindows ? x + (long)j * stride + w * Window : tails + j * Window;
    }

    /// <summary>Output rows of a group of samples.</summary>
    private readonly unsafe struct ChunkTarget(float* y, int stride)
    {
        /// <summary>Stores the 16 rows of chunk c for sample j (fewer for the last chunk).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(int j, int c, Vector512<float> sum, int rows)
        {
            float* p = y + (long)j * stride + c * Lanes;
            int n = Math.Min(Lanes, rows - c * Lanes);
            if (n == Lanes) sum.Store(p);
            else for (int i = 0; i < n; i++) p[i] = sum.GetElement(i);
        }
    }

    /// <summary>The 16 weights of one slot row.</summary>
    private interface ISlotWeights
    {
        Vector512<float> Get(Vector512<int> slot, long slotIndex);
    }

    /// <summary>Codebooks of at most 32 values held in two registers: one two-source permute per slot row.</summary>
    private readonly struct PermutedWeights(Vector512<float> lo, Vector512<float> hi) : ISlotWeights
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Get(Vector512<int> slot, long slotIndex) => Avx512F.PermuteVar16x32x2(lo, Avx512F.ShiftRightLogical(slot, 8), hi);
    }

    /// <summary>Codebooks of 33..256 values: gathered from the table.</summary>
    private readonly unsafe struct GatheredWeights(float* table) : ISlotWeights
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Get(Vector512<int> slot, long slotIndex)
        {
            var code = Avx512F.ShiftRightLogical(slot, 8);
            return Vector512.Create(Avx2.GatherVector256(table, code.GetLower(), 4), Avx2.GatherVector256(table, code.GetUpper(), 4));
        }
    }

    /// <summary>No codebook: 16 stored floats per slot row.</summary>
    private readonly unsafe struct StoredWeights(float* values) : ISlotWeights
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Get(Vector512<int> slot, long slotIndex) => Vector512.Load(values + slotIndex * Lanes);
    }
}

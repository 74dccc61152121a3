using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Runtime.Kernels;

public sealed partial class SparseMatrix
{
    /// <summary>
    /// Batches up to this size run one register-permute matrix-vector product per sample (AVX-512);
    /// larger ones transpose the batch and run the row kernel over whole input rows.
    /// </summary>
    internal const int VectorProductMaxBatch = 4;

    /// <inheritdoc/>
    public void MultiplyRows(ReadOnlySpan<float> x, int batch, Span<float> y, int threads) => MultiplyRows(x, batch, y, threads, SimdPath.Auto);

    /// <inheritdoc/>
    public void MultiplyColumns(ReadOnlySpan<float> x, int n, Span<float> y, int threads) => MultiplyColumns(x, n, y, threads, SimdPath.Auto);

    /// <summary><see cref="MultiplyRows(ReadOnlySpan{float}, int, Span{float}, int)"/> on a chosen instruction path.</summary>
    internal void MultiplyRows(ReadOnlySpan<float> x, int batch, Span<float> y, int threads, SimdPath path) // x: [batch, Cols], y: [batch, Rows]
    {
        MatrixChecks.Rows(this, x.Length, batch, y.Length, threads);
        if (batch == 0 || Rows == 0) return;
        path = Resolve(path);
        if (batch == 1 || (batch <= VectorProductMaxBatch && path == SimdPath.Avx512))
        {
            for (int b = 0; b < batch; b++) Vector(x.Slice(b * Cols, Cols), y.Slice(b * Rows, Rows), threads, path);
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
        if (n == 1) Vector(x[..Cols], y[..Rows], threads, path);
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

    /// <summary>y = W x for one sample: the register-permute kernel on AVX-512, else the row kernel with n = 1.</summary>
    private unsafe void Vector(ReadOnlySpan<float> x, Span<float> y, int threads, SimdPath path) // x: [Cols], y: [Rows]
    {
        if (path != SimdPath.Avx512)
        {
            RowProducts(x, 1, y, threads, path);
            return;
        }
        int useful = RuntimeParallel.Useful(Nonzeros, Chunks, threads);
        fixed (float* px = x, py = y)
        {
            float* xp = px, yp = py;
            if (useful == 1) VectorChunks(xp, yp, 0, Chunks);
            else RuntimeParallel.For(Chunks, useful, (c0, c1) => VectorChunks(xp, yp, c0, c1));
        }
    }

    private unsafe void VectorChunks(float* x, float* y, int c0, int c1) // x: [Cols], y: [Rows]
    {
        float* tail = stackalloc float[Window];
        int full = Cols / Window;
        new Span<float>(tail, Window).Clear();
        if (full < Windows) new ReadOnlySpan<float>(x + full * Window, Cols - full * Window).CopyTo(new Span<float>(tail, Window));
        fixed (int* bs = _blockStart)
        fixed (ushort* sl = _slots)
        fixed (float* cent = _centroids, vals = _values)
        {
            var win = new WindowSource(x, tail, full);
            if (CodebookSize == 0) VectorChunks(new StoredWeights(vals), win, bs, sl, y, c0, c1);
            else if (CodebookSize <= Window) VectorChunks(new PermutedWeights(Vector512.Load(cent), Vector512.Load(cent + 16)), win, bs, sl, y, c0, c1);
            else VectorChunks(new GatheredWeights(cent), win, bs, sl, y, c0, c1);
        }
    }

    private unsafe void VectorChunks<TW>(TW weights, WindowSource win, int* bs, ushort* sl, float* y, int c0, int c1) where TW : struct, ISlotWeights
    {
        for (int c = c0; c < c1; c++)
        {
            Vector512<float> acc0 = Vector512<float>.Zero, acc1 = Vector512<float>.Zero;
            int* block = bs + c * Windows;
            for (int w = 0; w < Windows; w++)
            {
                long s = block[w], end = block[w + 1];
                if (s == end) continue;
                float* xw = win.At(w);
                Vector512<float> xlo = Vector512.Load(xw), xhi = Vector512.Load(xw + 16);
                for (; s + 2 <= end; s += 2)
                {
                    var v0 = Avx512F.ConvertToVector512Int32(Vector256.Load(sl + s * Lanes));
                    var v1 = Avx512F.ConvertToVector512Int32(Vector256.Load(sl + (s + 1) * Lanes));
                    acc0 = Avx512F.FusedMultiplyAdd(weights.Get(v0, s), Avx512F.PermuteVar16x32x2(xlo, v0, xhi), acc0);
                    acc1 = Avx512F.FusedMultiplyAdd(weights.Get(v1, s + 1), Avx512F.PermuteVar16x32x2(xlo, v1, xhi), acc1);
                }
                if (s < end)
                {
                    var v = Avx512F.ConvertToVector512Int32(Vector256.Load(sl + s * Lanes));
                    acc0 = Avx512F.FusedMultiplyAdd(weights.Get(v, s), Avx512F.PermuteVar16x32x2(xlo, v, xhi), acc0);
                }
            }
            var sum = acc0 + acc1;
            int rows = Math.Min(Lanes, Rows - c * Lanes);
            if (rows == Lanes) sum.Store(y + c * Lanes);
            else for (int i = 0; i < rows; i++) y[c * Lanes + i] = sum.GetElement(i);
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
                default: RowProductsScalar(layout, x, n, y, r0, r1); break;
            }
        }
    }

    private static unsafe void RowProducts<TOps, TV>(Layout layout, float* x, int n, float* y, int r0, int r1)
        where TOps : struct, IVectorOps<TV> where TV : struct
    {
        int vw = TOps.Count;
        for (int r = r0; r < r1; r++)
        {
            float* yr = y + (long)r * n;
            int j = 0;
            for (; j + 4 * vw <= n; j += 4 * vw)
            {
                TV a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
                var cur = layout.Row(r);
                while (cur.Next(out long col, out float w))
                {
                    float* xp = x + col * n + j;
                    var wv = TOps.Broadcast(w);
                    a0 = TOps.MultiplyAdd(wv, TOps.Load(xp), a0);
                    a1 = TOps.MultiplyAdd(wv, TOps.Load(xp + vw), a1);
                    a2 = TOps.MultiplyAdd(wv, TOps.Load(xp + 2 * vw), a2);
                    a3 = TOps.MultiplyAdd(wv, TOps.Load(xp + 3 * vw), a3);
                }
                TOps.Store(a0, yr + j); TOps.Store(a1, yr + j + vw); TOps.Store(a2, yr + j + 2 * vw); TOps.Store(a3, yr + j + 3 * vw);
            }
            for (; j + vw <= n; j += vw)
            {
                TV a = TOps.Zero;
                var cur = layout.Row(r);
                while (cur.Next(out long col, out float w)) a = TOps.MultiplyAdd(TOps.Broadcast(w), TOps.Load(x + col * n + j), a);
                TOps.Store(a, yr + j);
            }
            if (j < n) RowTail(layout, x, n, yr, r, j);
        }
    }

    private static unsafe void RowProductsScalar(Layout layout, float* x, int n, float* y, int r0, int r1)
    {
        for (int r = r0; r < r1; r++) RowTail(layout, x, n, y + (long)r * n, r, 0);
    }

    /// <summary>Columns j0..n-1 of one output row, one at a time.</summary>
    private static unsafe void RowTail(Layout layout, float* x, int n, float* yr, int r, int j0)
    {
        for (int j = j0; j < n; j++)
        {
            float a = 0f;
            var cur = layout.Row(r);
            while (cur.Next(out long col, out float w)) a += w * x[col * n + j];
            yr[j] = a;
        }
    }

    /// <summary>Pointers to the pinned layout arrays.</summary>
    private readonly unsafe struct Layout(int* blockStart, ushort* slots, float* centroids, float* values, int windows)
    {
        public RowCursor Row(int r) => new(blockStart, slots, centroids, values, windows, r);
    }

    /// <summary>Walks one row's nonzeros window by window, stopping at the padding of each block.</summary>
    private unsafe struct RowCursor
    {
        private readonly int* _block;    // [windows + 1] block starts of the row's chunk
        private readonly ushort* _slots;
        private readonly float* _centroids, _values;
        private readonly int _windows, _lane;
        private int _w;
        private long _s, _end;

        public RowCursor(int* blockStart, ushort* slots, float* centroids, float* values, int windows, int row)
        {
            _block = blockStart + row / Lanes * windows; _slots = slots; _centroids = centroids; _values = values;
            _windows = windows; _lane = row % Lanes; _w = 0; _s = _block[0]; _end = _block[1];
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Next(out long column, out float weight)
        {
            while (true)
            {
                if (_s < _end)
                {
                    long k = _s * Lanes + _lane;
                    ushort v = _slots[k];
                    if ((v & PadFlag) == 0)
                    {
                        _s++;
                        column = (long)_w * Window + (v & OffsetMask);
                        weight = _centroids != null ? _centroids[v >> 8] : _values[k];
                        return true;
                    }
                }
                if (++_w >= _windows)
                {
                    column = 0; weight = 0f;
                    return false;
                }
                _s = _block[_w]; _end = _block[_w + 1];
            }
        }
    }

    /// <summary>Where window w's 32 inputs start: in x, or a zero-padded copy of the last partial window.</summary>
    private readonly unsafe struct WindowSource(float* x, float* tail, int fullWindows)
    {
        public float* At(int w) => w < fullWindows ? x + w * Window : tail;
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

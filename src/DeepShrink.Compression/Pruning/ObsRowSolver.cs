using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DeepShrink.Compression.Pruning;

/// <summary>
/// The greedy Optimal Brain Surgeon path of one weight row (OBC, Frantar and Alistarh 2022), with the
/// inverse-Hessian downdates applied lazily in blocks; one instance (workspace) per thread.
/// </summary>
/// <remarks>
/// Step k removes q = argmin w_q^2 / [H^-1]_qq over the remaining weights, sets
/// w -= w_q / [H^-1]_qq * H^-1[:, q] and downdates H^-1 -= H^-1[:, q] H^-1[q, :] / [H^-1]_qq.
/// Here the downdate columns u_t = H^-1_t[:, q_t] of up to <c>block</c> steps are kept aside: the current
/// column is H^-1_flush[:, q] - sum_t u_t u_t[q] / c_t and the diagonal is updated by -u^2 / c, so the
/// O(m^2) rank-one downdates become one rank-<c>block</c> update of the lower triangle per block (then
/// mirrored), which also drops the removed rows and columns (the matrix shrinks as the row gets sparser). <see cref="ObsReference"/> is the
/// plain twin with an explicit rank-one downdate per step.
/// </remarks>
internal sealed class ObsRowSolver
{
    private readonly int _d, _block;
    private double[] _h, _hNext;          // [m, m] inverse Hessian over the slots alive at the last flush
    private readonly double[] _u;         // [block, d] downdate columns since the last flush
    private readonly double[] _pivot;     // [block]
    private readonly double[] _w, _diag;  // [d] current weights and diagonal of the current inverse, by slot
    private readonly int[] _idx, _alive;  // [d] slot -> column; scratch
    private readonly bool[] _dead;        // [d] removed since the last flush

    /// <summary>Workspace for rows of <paramref name="d"/> weights.</summary>
    public ObsRowSolver(int d, int block)
    {
        _d = d; _block = block;
        _h = new double[(long)d * d]; _hNext = new double[(long)d * d];
        _u = new double[(long)block * d]; _pivot = new double[block];
        _w = new double[d]; _diag = new double[d];
        _idx = new int[d]; _alive = new int[d]; _dead = new bool[d];
    }

    /// <summary>
    /// Removes <paramref name="steps"/> weights greedily. After stops[l] removals (ascending, at most
    /// <paramref name="steps"/>) the row is written to weights[l d ..] and masks[l d ..];
    /// stepLoss[k] = w_q^2 / (2 [H^-1]_qq) of removal k (the increase of 1/2 dw^T H dw).
    /// </summary>
    public void Run(ReadOnlySpan<double> hinv0, ReadOnlySpan<float> w0, int steps, ReadOnlySpan<int> stops,
        Span<float> weights, Span<float> masks, Span<double> stepLoss) // [d, d], [d], [levels, d] x2, [steps]
    {
        int d = _d, m = d, b = 0, next = 0;
        hinv0.CopyTo(_h);
        for (int j = 0; j < d; j++) { _w[j] = w0[j]; _diag[j] = hinv0[j * d + j]; _idx[j] = j; _dead[j] = false; }
        while (next < stops.Length && stops[next] == 0) Snapshot(next++, m, weights, masks);
        for (int k = 0; k < steps; k++)
        {
            int q = -1;
            double best = double.PositiveInfinity;
            for (int s = 0; s < m; s++)
            {
                if (_dead[s]) continue;
                double score = _w[s] * _w[s] / _diag[s];
                if (score < best || q < 0) { best = score; q = s; }
            }
            var col = _u.AsSpan(b * d, m);
            _h.AsSpan(q * m, m).CopyTo(col); // row q = column q (symmetric)
            for (int t = 0; t < b; t++)
                TensorPrimitives.MultiplyAdd<double>(_u.AsSpan(t * d, m), -_u[t * d + q] / _pivot[t], col, col);
            double c = Math.Max(col[q], double.Epsilon);
            double wq = _w[q];
            stepLoss[k] = wq * wq / (2 * c);
            TensorPrimitives.MultiplyAdd<double>(col, -wq / c, _w.AsSpan(0, m), _w.AsSpan(0, m));
            for (int s = 0; s < m; s++) _diag[s] -= col[s] * col[s] / c;
            _w[q] = 0; _dead[q] = true; _pivot[b++] = c;
            while (next < stops.Length && stops[next] == k + 1) Snapshot(next++, m, weights, masks);
            if (b == _block && k + 1 < steps) { m = Flush(m, b); b = 0; }
        }
    }

    private void Snapshot(int level, int m, Span<float> weights, Span<float> masks)
    {
        var w = weights.Slice(level * _d, _d);
        var mk = masks.Slice(level * _d, _d);
        w.Clear(); mk.Clear();
        for (int s = 0; s < m; s++)
            if (!_dead[s]) { w[_idx[s]] = (float)_w[s]; mk[_idx[s]] = 1f; }
    }

    /// <summary>Applies the pending downdates and compacts the matrix to the alive slots; returns their count.</summary>
    private int Flush(int m, int b)
    {
        int d = _d, n = 0;
        for (int s = 0; s < m; s++) if (!_dead[s]) _alive[n++] = s;
        for (int t = 0; t < b; t++)
        {
            var u = _u.AsSpan(t * d, m);
            for (int i = 0; i < n; i++) u[i] = u[_alive[i]]; // forward compaction is safe in place
        }
        Span<double> coef = stackalloc double[b];
        for (int i = 0; i < n; i++)
        {
            var src = _h.AsSpan(_alive[i] * m, m);
            var dst = _hNext.AsSpan(i * n, i + 1); // lower triangle only: alive[j] <= alive[i]
            for (int j = 0; j <= i; j++) dst[j] = src[_alive[j]];
            for (int t = 0; t < b; t++) coef[t] = -_u[t * d + i] / _pivot[t];
            RankUpdate(dst, coef, i + 1);
        }
        Mirror(_hNext, n);
        (_h, _hNext) = (_hNext, _h);
        for (int i = 0; i < n; i++)
        {
            int s = _alive[i];
            _w[i] = _w[s]; _idx[i] = _idx[s]; _dead[i] = false;
            _diag[i] = _h[i * n + i];
        }
        return n;
    }

    /// <summary>Copies the lower triangle of a [n, n] matrix to its upper triangle, in cache-sized tiles.</summary>
    private static void Mirror(double[] a, int n)
    {
        const int tile = 32;
        for (int i0 = 0; i0 < n; i0 += tile)
            for (int j0 = 0; j0 <= i0; j0 += tile)
                for (int i = i0; i < Math.Min(i0 + tile, n); i++)
                    for (int j = j0; j < Math.Min(Math.Min(j0 + tile, n), i); j++) a[j * n + i] = a[i * n + j];
    }

    /// <summary>dst += sum_t coef[t] u_t[0..n), four columns per pass (Vector512/Vector256, scalar tail).</summary>
    private void RankUpdate(Span<double> dst, ReadOnlySpan<double> coef, int n)
    {
        int b = coef.Length, d = _d, t = 0;
        ref double y = ref MemoryMarshal.GetReference(dst);
        for (; t + 4 <= b; t += 4)
        {
            ref double u0 = ref _u[t * d];
            ref double u1 = ref _u[(t + 1) * d];
            ref double u2 = ref _u[(t + 2) * d];
            ref double u3 = ref _u[(t + 3) * d];
            double c0 = coef[t], c1 = coef[t + 1], c2 = coef[t + 2], c3 = coef[t + 3];
            nuint j = 0, len = (nuint)n;
            if (Vector512.IsHardwareAccelerated)
            {
                var v0 = Vector512.Create(c0); var v1 = Vector512.Create(c1); var v2 = Vector512.Create(c2); var v3 = Vector512.Create(c3);
                for (; j + 8 <= len; j += 8)
                {
                    var acc = Vector512.LoadUnsafe(ref y, j);
                    acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref u0, j), v0, acc);
                    acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref u1, j), v1, acc);
                    acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref u2, j), v2, acc);
                    acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref u3, j), v3, acc);
                    acc.StoreUnsafe(ref y, j);
                }
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                var v0 = Vector256.Create(c0); var v1 = Vector256.Create(c1); var v2 = Vector256.Create(c2); var v3 = Vector256.Create(c3);
                for (; j + 4 <= len; j += 4)
                {
                    var acc = Vector256.LoadUnsafe(ref y, j);
                    acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref u0, j), v0, acc);
                    acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref u1, j), v1, acc);
                    acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref u2, j), v2, acc);
                    acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref u3, j), v3, acc);
                    acc.StoreUnsafe(ref y, j);
                }
            }
            for (; j < len; j++)
                Unsafe.Add(ref y, j) += c0 * Unsafe.Add(ref u0, j) + c1 * Unsafe.Add(ref u1, j) + c2 * Unsafe.Add(ref u2, j) + c3 * Unsafe.Add(ref u3, j);
        }
        for (; t < b; t++) TensorPrimitives.MultiplyAdd<double>(_u.AsSpan(t * d, n), coef[t], dst, dst);
    }
}

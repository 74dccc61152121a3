using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace DeepShrink.Compression.LowRank;

/// <summary>Eigenvalues (descending) and eigenvectors of a symmetric matrix.</summary>
/// <param name="Values">Eigenvalues, largest first. [n]</param>
/// <param name="Vectors">Eigenvectors as rows, row i belonging to <c>Values[i]</c>, orthonormal. [n, n]</param>
/// <param name="N">Matrix order.</param>
public sealed record EigenResult(double[] Values, double[] Vectors, int N);

/// <summary>
/// Symmetric eigendecomposition A = V^T diag(values) V in float64: Householder tridiagonalisation
/// followed by the implicit symmetric QR algorithm with Wilkinson shifts.
/// </summary>
/// <remarks>
/// Golub and Van Loan, Matrix Computations (4th ed.), Algorithms 8.3.1 (Householder
/// tridiagonalisation Q^T A Q = T) and 8.3.3 (implicit QR steps: T &lt;- G^T T G with a Givens bulge
/// chase, shift mu = t_nn - t_{n,n-1}^2 / (d + sign(d) sqrt(d^2 + t_{n,n-1}^2)), d = (t_{n-1,n-1} - t_nn) / 2).
/// Cost about 9 n^3 flops with vectors; rows are updated with TensorPrimitives (vectorised).
/// Deterministic: no randomness, a fixed operation order.
/// </remarks>
public static class SymmetricEigen
{
    /// <summary>Decomposes the symmetric row-major [n, n] matrix <paramref name="a"/> (only read).</summary>
    public static EigenResult Decompose(ReadOnlySpan<double> a, int n)
    {
        if (n < 1 || a.Length != n * n) throw new ArgumentException($"eigen: expected a square [{n}, {n}] matrix, got {a.Length} values");
        var w = a.ToArray();
        for (int i = 0; i < n; i++)
            for (int j = 0; j < i; j++)
                if (!double.IsFinite(w[i * n + j])) throw new ArgumentException("eigen: the matrix has a non-finite value");
        var d = new double[n];
        var e = new double[Math.Max(n - 1, 1)];
        var vt = Tridiagonalize(w, n, d, e);
        ImplicitQr(d, e, vt, n);
        return Sorted(d, vt, n);
    }

    /// <summary>Reduces w to tridiagonal form (d, e) and returns Q^T as rows ([n, n]).</summary>
    private static double[] Tridiagonalize(double[] w, int n, double[] d, double[] e)
    {
        var vs = new double[n][];
        var betas = new double[n];
        var p = new double[n];
        for (int k = 0; k < n - 2; k++)
        {
            int len = n - k - 1;
            var v = new double[len];
            for (int i = 0; i < len; i++) v[i] = w[(k + 1 + i) * n + k];
            double norm = Math.Sqrt(TensorPrimitives.Dot<double>(v, v));
            double alpha = v[0] > 0 ? -norm : norm;
            v[0] -= alpha;
            double vv = TensorPrimitives.Dot<double>(v, v);
            e[k] = norm == 0 ? 0 : alpha;
            if (vv == 0) { vs[k] = v; betas[k] = 0; continue; }
            double beta = 2 / vv;
            vs[k] = v; betas[k] = beta;
            // p = beta A_sub v, w = p - (beta/2)(p.v) v, A_sub -= v w^T + w v^T
            for (int i = 0; i < len; i++) p[i] = beta * TensorPrimitives.Dot<double>(w.AsSpan((k + 1 + i) * n + k + 1, len), v);
            double kk = 0.5 * beta * TensorPrimitives.Dot<double>(p.AsSpan(0, len), v);
            for (int i = 0; i < len; i++) p[i] -= kk * v[i];
            for (int i = 0; i < len; i++)
            {
                var row = w.AsSpan((k + 1 + i) * n + k + 1, len);
                TensorPrimitives.MultiplyAdd<double>(p.AsSpan(0, len), -v[i], row, row);
                TensorPrimitives.MultiplyAdd<double>(v, -p[i], row, row);
            }
        }
        for (int k = 0; k < n; k++) d[k] = w[k * n + k];
        if (n >= 2) e[n - 2] = w[(n - 1) * n + n - 2];
        // Q = H_0 H_1 ... H_{n-3}, built backwards so each H_k touches only the trailing block.
        var q = new double[n * n];
        for (int i = 0; i < n; i++) q[i * n + i] = 1;
        var t = new double[n];
        for (int k = n - 3; k >= 0; k--)
        {
            if (betas[k] == 0) continue;
            int len = n - k - 1, off = k + 1;
            var v = vs[k]!;
            var tt = t.AsSpan(0, len);
            tt.Clear();
            for (int i = 0; i < len; i++) TensorPrimitives.MultiplyAdd<double>(q.AsSpan((off + i) * n + off, len), v[i], tt, tt);
            for (int i = 0; i < len; i++)
            {
                var row = q.AsSpan((off + i) * n + off, len);
                TensorPrimitives.MultiplyAdd<double>(tt, -betas[k] * v[i], row, row);
            }
        }
        return DoubleGemm.Transpose(q, n, n);
    }

    /// <summary>Implicit-shift QR on the tridiagonal (d, e), rotating the rows of vt alongside.</summary>
    private static void ImplicitQr(double[] d, double[] e, double[] vt, int n)
    {
        int hi = n - 1, iterations = 0;
        while (hi > 0)
        {
            if (Negligible(e[hi - 1], d[hi - 1], d[hi])) { e[hi - 1] = 0; hi--; iterations = 0; continue; }
            if (++iterations > 60) throw new InvalidOperationException($"eigen: QR iteration did not converge at index {hi}");
            int lo = hi - 1;
            while (lo > 0 && !Negligible(e[lo - 1], d[lo - 1], d[lo])) lo--;
            if (lo > 0) e[lo - 1] = 0;
            double dd = (d[hi - 1] - d[hi]) / 2, eh = e[hi - 1];
            double mu = d[hi] - eh * eh / (dd + (dd >= 0 ? 1 : -1) * Math.Sqrt(dd * dd + eh * eh));
            double x = d[lo] - mu, z = e[lo];
            for (int k = lo; k < hi; k++)
            {
                double r = Math.Sqrt(x * x + z * z);
                double c = r == 0 ? 1 : x / r, s = r == 0 ? 0 : z / r;
                if (k > lo) e[k - 1] = r;
                double a0 = d[k], a1 = d[k + 1], b = e[k];
                d[k] = c * c * a0 + 2 * c * s * b + s * s * a1;
                d[k + 1] = s * s * a0 - 2 * c * s * b + c * c * a1;
                e[k] = c * s * (a1 - a0) + (c * c - s * s) * b;
                x = e[k];
                if (k + 1 < hi) { z = s * e[k + 1]; e[k + 1] *= c; }
                Rotate(vt.AsSpan(k * n, n), vt.AsSpan((k + 1) * n, n), c, s);
            }
        }
    }

    private static bool Negligible(double e, double d0, double d1)
        => Math.Abs(e) <= 1e-300 || Math.Abs(e) <= 2.2e-16 * (Math.Abs(d0) + Math.Abs(d1));

    /// <summary>Plane rotation of two rows: r0' = c r0 + s r1, r1' = c r1 - s r0 (Vector256 body, scalar tail).</summary>
    internal static void Rotate(Span<double> r0, Span<double> r1, double c, double s)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vc = Vector256.Create(c);
            var vs = Vector256.Create(s);
            for (; j + 4 <= r0.Length; j += 4)
            {
                var x = Vector256.Create<double>(r0.Slice(j, 4));
                var y = Vector256.Create<double>(r1.Slice(j, 4));
                (vc * x + vs * y).CopyTo(r0.Slice(j, 4));
                (vc * y - vs * x).CopyTo(r1.Slice(j, 4));
            }
        }
        for (; j < r0.Length; j++)
        {
            double x = r0[j], y = r1[j];
            r0[j] = c * x + s * y;
            r1[j] = c * y - s * x;
        }
    }

    private static EigenResult Sorted(double[] d, double[] vt, int n)
    {
        var order = Enumerable.Range(0, n).OrderByDescending(i => d[i]).ThenBy(i => i).ToArray();
        var values = new double[n];
        var vectors = new double[n * n];
        for (int r = 0; r < n; r++)
        {
            values[r] = d[order[r]];
            vt.AsSpan(order[r] * n, n).CopyTo(vectors.AsSpan(r * n, n));
        }
        return new EigenResult(values, vectors, n);
    }
}

using System.Numerics.Tensors;
using DeepShrink.Core;

namespace DeepShrink.Compression.Pruning;

/// <summary>Inverse of a symmetric positive definite matrix through its Cholesky factor, in float64.</summary>
internal static class SpdInverse
{
    /// <summary>
    /// Returns A^-1 for a symmetric positive definite [n, n] matrix (A = L L^T, then A^-1 e_j by one
    /// forward and one backward substitution per column); throws when a pivot is not positive.
    /// </summary>
    public static double[] Invert(ReadOnlySpan<double> a, int n) // [n, n]
    {
        if (a.Length != (long)n * n) throw new ArgumentException($"expected a {n} x {n} matrix, got {a.Length} values");
        var l = new double[(long)n * n];   // lower factor, row-major
        for (int i = 0; i < n; i++)
        {
            var li = l.AsSpan(i * n, n);
            for (int j = 0; j <= i; j++)
            {
                double s = a[i * n + j] - TensorPrimitives.Dot<double>(li[..j], l.AsSpan(j * n, j));
                if (j == i)
                {
                    if (!(s > 0)) throw new InvalidOperationException($"matrix is not positive definite (pivot {i} is {s:G3}); increase the damping");
                    li[i] = Math.Sqrt(s);
                }
                else li[j] = s / l[j * n + j];
            }
        }
        var lt = new double[(long)n * n]; // L^T, row-major: row i holds column i of L
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++) lt[j * n + i] = l[i * n + j];
        var inv = new double[(long)n * n];
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = Parallelism.Degree }, () => new double[n], (j, _, y) =>
        {
            // Forward: L y = e_j (y[i] = 0 for i < j).
            Array.Clear(y);
            for (int i = j; i < n; i++)
            {
                double s = (i == j ? 1.0 : 0.0) - TensorPrimitives.Dot<double>(l.AsSpan(i * n + j, i - j), y.AsSpan(j, i - j));
                y[i] = s / l[i * n + i];
            }
            // Backward: L^T x = y, in place.
            for (int i = n - 1; i >= 0; i--)
            {
                double s = y[i] - TensorPrimitives.Dot<double>(lt.AsSpan(i * n + i + 1, n - i - 1), y.AsSpan(i + 1, n - i - 1));
                y[i] = s / l[i * n + i];
            }
            y.AsSpan().CopyTo(inv.AsSpan(j * n, n)); // row j = column j (symmetric)
            return y;
        }, _ => { });
        return inv;
    }
}

using System.Numerics.Tensors;

namespace DeepShrink.Compression.LowRank;

/// <summary>A thin (or truncated) singular value decomposition A ~ U diag(S) Vt.</summary>
/// <param name="U">Left singular vectors as columns, orthonormal. [M, Rank]</param>
/// <param name="S">Singular values, largest first, non-negative. [Rank]</param>
/// <param name="Vt">Right singular vectors as rows, orthonormal. [Rank, N]</param>
/// <param name="M">Rows of A.</param>
/// <param name="N">Columns of A.</param>
/// <param name="Rank">Number of kept components (min(M, N) for a thin SVD).</param>
public sealed record SvdResult(double[] U, double[] S, double[] Vt, int M, int N, int Rank)
{
    /// <summary>U diag(S) Vt in float64. [M, N]</summary>
    public double[] Reconstruct()
    {
        var us = (double[])U.Clone();
        for (int i = 0; i < M; i++)
            for (int r = 0; r < Rank; r++) us[i * Rank + r] *= S[r];
        var a = new double[M * N];
        DoubleGemm.Multiply(us, Vt, a, M, Rank, N);
        return a;
    }
}

/// <summary>
/// Thin and truncated SVD in float64 with float32 or float64 input, through the eigendecomposition of
/// the Gram matrix of the shorter side.
/// </summary>
/// <remarks>
/// For A [m, n] with m &gt;= n: A^T A = V diag(s^2) V^T (<see cref="SymmetricEigen"/>), then U = A V diag(1/s)
/// (Golub and Van Loan, Matrix Computations, section 8.6). Squaring costs precision only below
/// s_i ~ sqrt(eps_64) s_max ~ 1.5e-8 s_max, finer than the rounding of float32 weights (about
/// 6e-8 of their norm), so for float32 layers this is as accurate as a bidiagonal QR while costing
/// about 2 m n^2 flops in a register-tiled kernel. Columns of U whose singular value is below
/// 1e-6 s_max are re-orthonormalised (Gram-Schmidt, twice) so U stays orthonormal for rank-deficient
/// input. <see cref="SvdReference"/> (one-sided Jacobi) is the plain specification.
/// </remarks>
public static class Svd
{
    /// <summary>Thin SVD of a row-major float32 [m, n] matrix (computed in float64).</summary>
    public static SvdResult Thin(ReadOnlySpan<float> a, int m, int n) => Truncated(ToDouble(a), m, n, Math.Min(m, n));

    /// <summary>Thin SVD of a row-major float64 [m, n] matrix.</summary>
    public static SvdResult Thin(ReadOnlySpan<double> a, int m, int n) => Truncated(a, m, n, Math.Min(m, n));

    /// <summary>The <paramref name="rank"/> leading singular triplets of a float32 [m, n] matrix.</summary>
    public static SvdResult Truncated(ReadOnlySpan<float> a, int m, int n, int rank) => Truncated(ToDouble(a), m, n, rank);

    /// <summary>The <paramref name="rank"/> leading singular triplets of a float64 [m, n] matrix.</summary>
    public static SvdResult Truncated(ReadOnlySpan<double> a, int m, int n, int rank)
    {
        Check(a.Length, m, n);
        if (rank < 1 || rank > Math.Min(m, n)) throw new ArgumentException($"svd: rank {rank} is outside 1..{Math.Min(m, n)} for a {m}x{n} matrix");
        foreach (var x in a) if (!double.IsFinite(x)) throw new ArgumentException("svd: the matrix has a non-finite value");
        if (m >= n) return Tall(a, m, n, rank);
        // A^T = V S U^T: decompose the transpose and swap the factors.
        var t = Tall(DoubleGemm.Transpose(a, m, n), n, m, rank);
        return new SvdResult(DoubleGemm.Transpose(t.Vt, rank, m), t.S, DoubleGemm.Transpose(t.U, n, rank), m, n, rank);
    }

    /// <summary>Singular values only (largest first), min(m, n) of them.</summary>
    public static double[] Values(ReadOnlySpan<double> a, int m, int n)
    {
        Check(a.Length, m, n);
        var g = m >= n ? DoubleGemm.Gram(a, m, n) : DoubleGemm.OuterGram(a, m, n);
        var eig = SymmetricEigen.Decompose(g, Math.Min(m, n));
        return eig.Values.Select(v => Math.Sqrt(Math.Max(v, 0))).ToArray();
    }

    /// <summary>Copies a float32 span into a new float64 array.</summary>
    public static double[] ToDouble(ReadOnlySpan<float> a)
    {
        var d = new double[a.Length];
        for (int i = 0; i < a.Length; i++) d[i] = a[i];
        return d;
    }

    private static SvdResult Tall(ReadOnlySpan<double> a, int m, int n, int rank)
    {
        var eig = SymmetricEigen.Decompose(DoubleGemm.Gram(a, m, n), n);
        var s = new double[rank];
        for (int r = 0; r < rank; r++) s[r] = Math.Sqrt(Math.Max(eig.Values[r], 0));
        var vt = eig.Vectors.AsSpan(0, rank * n).ToArray();
        var u = new double[m * rank];
        DoubleGemm.Multiply(a, DoubleGemm.Transpose(vt, rank, n), u, m, n, rank);
        double tiny = 1e-6 * s[0];
        var ut = DoubleGemm.Transpose(u, m, rank); // columns of U as rows
        for (int r = 0; r < rank; r++)
        {
            var row = ut.AsSpan(r * m, m);
            if (s[r] > tiny && s[r] > 0) { TensorPrimitives.Multiply<double>(row, 1 / s[r], row); continue; }
            Complete(ut, r, m);
        }
        return new SvdResult(DoubleGemm.Transpose(ut, rank, m), s, vt, m, n, rank);
    }

    /// <summary>Replaces row r of ut by a unit vector orthogonal to rows 0..r-1 (Gram-Schmidt, twice).</summary>
    private static void Complete(double[] ut, int r, int m)
    {
        var row = ut.AsSpan(r * m, m);
        double n0 = Math.Sqrt(TensorPrimitives.Dot<double>(row, row));
        if (n0 > 0) TensorPrimitives.Multiply<double>(row, 1 / n0, row);
        for (int seed = 0; seed <= m; seed++)
        {
            if (seed > 0) { row.Clear(); row[(seed - 1 + r) % m] = 1; }
            for (int pass = 0; pass < 2; pass++)
                for (int q = 0; q < r; q++)
                {
                    var other = ut.AsSpan(q * m, m);
                    TensorPrimitives.MultiplyAdd<double>(other, -TensorPrimitives.Dot<double>(other, row), row, row);
                }
            double norm = Math.Sqrt(TensorPrimitives.Dot<double>(row, row));
            if (norm > 0.1)
            {
                TensorPrimitives.Multiply<double>(row, 1 / norm, row);
                return;
            }
        }
        throw new InvalidOperationException("svd: could not complete an orthonormal basis");
    }

    private static void Check(int length, int m, int n)
    {
        if (m < 1 || n < 1) throw new ArgumentException($"svd: invalid matrix size {m}x{n}");
        if (length != (long)m * n) throw new ArgumentException($"svd: {length} values is not a {m}x{n} matrix");
    }
}

using DeepShrink.Compression.LowRank;
using DeepShrink.Core;

namespace DeepShrink.Compression.Tests;

public class LowRankLinearAlgebraTests
{
    internal static double[] RandomMatrix(Rng rng, int m, int n)
    {
        var a = new double[m * n];
        for (int i = 0; i < a.Length; i++) a[i] = rng.NextGaussian();
        return a;
    }

    /// <summary>An exactly rank-r [m, n] matrix: (m x r) times (r x n) Gaussian factors.</summary>
    internal static double[] LowRankMatrix(Rng rng, int m, int n, int r)
    {
        var c = new double[m * n];
        DoubleGemm.MultiplyReference(RandomMatrix(rng, m, r), RandomMatrix(rng, r, n), c, m, r, n);
        return c;
    }

    internal static double MaxAbsDiff(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        Assert.Equal(a.Length, b.Length);
        double d = 0;
        for (int i = 0; i < a.Length; i++) d = Math.Max(d, Math.Abs(a[i] - b[i]));
        return d;
    }

    internal static double MaxAbs(ReadOnlySpan<double> a)
    {
        double d = 0;
        foreach (var x in a) d = Math.Max(d, Math.Abs(x));
        return d;
    }

    [Theory]
    [InlineData(1, 1, 1, false)]
    [InlineData(7, 5, 13, false)]
    [InlineData(16, 33, 24, false)]
    [InlineData(13, 9, 13, true)]
    [InlineData(32, 17, 32, true)]
    public void GemmMatchesReference(int m, int k, int n, bool upper)
    {
        var rng = new Rng(11);
        var a = RandomMatrix(rng, m, k);
        var b = upper ? DoubleGemm.Transpose(a, m, k) : RandomMatrix(rng, k, n);
        var fast = new double[m * n];
        var slow = new double[m * n];
        DoubleGemm.Multiply(a, b, fast, m, k, n, upper);
        DoubleGemm.MultiplyReference(a, b, slow, m, k, n);
        Assert.True(MaxAbsDiff(fast, slow) < 1e-12 * Math.Max(1, MaxAbs(slow)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(40)]
    public void EigenReconstructsAndIsOrthonormal(int n)
    {
        var rng = new Rng(5);
        var x = RandomMatrix(rng, n + 3, n);
        var a = DoubleGemm.Gram(x, n + 3, n);
        var eig = SymmetricEigen.Decompose(a, n);
        // A = V^T diag(l) V with V rows orthonormal.
        var vl = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) vl[i * n + j] = eig.Vectors[i * n + j] * eig.Values[i];
        var back = new double[n * n];
        DoubleGemm.MultiplyReference(DoubleGemm.Transpose(eig.Vectors, n, n), vl, back, n, n, n);
        Assert.True(MaxAbsDiff(a, back) < 1e-11 * MaxAbs(a));
        var vvt = new double[n * n];
        DoubleGemm.MultiplyReference(eig.Vectors, DoubleGemm.Transpose(eig.Vectors, n, n), vvt, n, n, n);
        for (int i = 0; i < n; i++) vvt[i * n + i] -= 1;
        Assert.True(MaxAbs(vvt) < 1e-12);
        for (int i = 1; i < n; i++) Assert.True(eig.Values[i - 1] >= eig.Values[i]);
    }

    [Fact]
    public void EigenHandlesRepeatedAndZeroEigenvalues()
    {
        const int n = 6;
        var a = new double[n * n];
        for (int i = 0; i < 3; i++) a[i * n + i] = 2; // eigenvalue 2 three times, 0 three times
        var eig = SymmetricEigen.Decompose(a, n);
        Assert.Equal(new[] { 2.0, 2, 2, 0, 0, 0 }, eig.Values.Select(v => Math.Round(v, 12)));
    }

    [Theory]
    [InlineData(40, 25)]
    [InlineData(25, 40)]
    [InlineData(17, 17)]
    public void SvdMatchesJacobiReference(int m, int n)
    {
        var a = RandomMatrix(new Rng(3), m, n);
        var fast = Svd.Thin(a, m, n);
        var jacobi = SvdReference.Values(a, m, n);
        Assert.True(MaxAbsDiff(fast.S, jacobi) < 1e-10 * jacobi[0]);
        Assert.True(MaxAbsDiff(fast.Reconstruct(), a) < 1e-10 * MaxAbs(a));
        AssertOrthonormalColumns(fast.U, m, fast.Rank);
        AssertOrthonormalColumns(DoubleGemm.Transpose(fast.Vt, fast.Rank, n), n, fast.Rank);
    }

    [Theory]
    [InlineData(60, 30, 4)]
    [InlineData(30, 60, 7)]
    public void SvdOfExactLowRankReconstructsToFloatPrecision(int m, int n, int r)
    {
        var a = LowRankMatrix(new Rng(8), m, n, r);
        var af = a.Select(x => (float)x).ToArray();
        var svd = Svd.Truncated(af, m, n, r);
        var exact = Svd.ToDouble(af);
        Assert.True(MaxAbsDiff(svd.Reconstruct(), exact) < 1e-6 * MaxAbs(exact));
        var thin = Svd.Thin(af, m, n);
        Assert.True(thin.S[r] < 1e-6 * thin.S[0]); // the rest is float rounding
        AssertOrthonormalColumns(thin.U, m, thin.Rank); // completed for the zero singular values
    }

    [Fact]
    public void SvdRejectsBadInput()
    {
        var e = Assert.Throws<ArgumentException>(() => Svd.Thin(new double[5], 2, 3));
        Assert.Contains("2x3", e.Message);
        Assert.Throws<ArgumentException>(() => Svd.Truncated(new double[6], 2, 3, 3));
        Assert.Throws<ArgumentException>(() => Svd.Thin(new[] { 1.0, double.NaN }, 1, 2));
    }

    internal static void AssertOrthonormalColumns(double[] q, int rows, int cols)
    {
        var g = DoubleGemm.Gram(q, rows, cols);
        for (int i = 0; i < cols; i++) g[i * cols + i] -= 1;
        Assert.True(MaxAbs(g) < 1e-9, $"columns not orthonormal: {MaxAbs(g)}");
    }
}

using DeepShrink.Core;

namespace DeepShrink.Compression.Tests;

/// <summary>Small float64 helpers for the second-order pruning tests (independent of the code under test).</summary>
internal static class PruningMath
{
    /// <summary>Gaussian random matrix [rows, cols] with a fixed seed.</summary>
    public static float[] Gaussian(ulong seed, int rows, int cols, double scale = 1)
    {
        var rng = new Rng(seed);
        var a = new float[rows * cols];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(scale * rng.NextGaussian());
        return a;
    }

    /// <summary>Solves A x = b (A [n, n]) by Gaussian elimination with partial pivoting.</summary>
    public static double[] Solve(double[,] a, double[] b)
    {
        int n = b.Length;
        var m = (double[,])a.Clone();
        var x = (double[])b.Clone();
        for (int c = 0; c < n; c++)
        {
            int p = c;
            for (int r = c + 1; r < n; r++) if (Math.Abs(m[r, c]) > Math.Abs(m[p, c])) p = r;
            for (int k = 0; k < n; k++) (m[c, k], m[p, k]) = (m[p, k], m[c, k]);
            (x[c], x[p]) = (x[p], x[c]);
            for (int r = c + 1; r < n; r++)
            {
                double f = m[r, c] / m[c, c];
                for (int k = c; k < n; k++) m[r, k] -= f * m[c, k];
                x[r] -= f * x[c];
            }
        }
        for (int r = n - 1; r >= 0; r--)
        {
            double s = x[r];
            for (int k = r + 1; k < n; k++) s -= m[r, k] * x[k];
            x[r] = s / m[r, r];
        }
        return x;
    }

    /// <summary>Least squares min ||X[:, cols] v - t|| over the chosen columns of X [n, d]; returns v.</summary>
    public static double[] LeastSquares(float[] x, int n, int d, IReadOnlyList<int> cols, double[] t)
    {
        int k = cols.Count;
        var g = new double[k, k];
        var rhs = new double[k];
        for (int i = 0; i < n; i++)
            for (int a = 0; a < k; a++)
            {
                double xa = x[i * d + cols[a]];
                rhs[a] += xa * t[i];
                for (int b = 0; b < k; b++) g[a, b] += xa * x[i * d + cols[b]];
            }
        return Solve(g, rhs);
    }

    /// <summary>Row outputs X w for X [n, d].</summary>
    public static double[] Apply(float[] x, int n, int d, ReadOnlySpan<float> w)
    {
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int j = 0; j < d; j++) s += (double)x[i * d + j] * w[j];
            y[i] = s;
        }
        return y;
    }

    /// <summary>Mean over samples of ||(W - W0) x||^2 for W, W0 [rows, d] and X [n, d].</summary>
    public static double LayerError(float[] x, int n, int d, float[] w, float[] w0)
    {
        double e = 0;
        int rows = w.Length / d;
        for (int i = 0; i < n; i++)
            for (int r = 0; r < rows; r++)
            {
                double s = 0;
                for (int j = 0; j < d; j++) s += ((double)w[r * d + j] - w0[r * d + j]) * x[i * d + j];
                e += s * s;
            }
        return e / n;
    }

    /// <summary>A random symmetric positive definite [d, d] matrix (B B^T / d + I / 2).</summary>
    public static double[] RandomSpd(ulong seed, int d)
    {
        var b = Gaussian(seed, d, d);
        var a = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                double s = 0;
                for (int k = 0; k < d; k++) s += (double)b[i * d + k] * b[j * d + k];
                a[i * d + j] = s / d + (i == j ? 0.5 : 0);
            }
        return a;
    }
}

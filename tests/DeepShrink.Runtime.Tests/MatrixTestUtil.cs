using DeepShrink.Core;

namespace DeepShrink.Runtime.Tests;

/// <summary>Random matrices and a float64 reference product for the kernel tests.</summary>
internal static class MatrixTestUtil
{
    /// <summary>Random codes in 0..k-1, or -1 (pruned) with probability 1 - density.</summary>
    public static int[] Codes(Rng rng, int rows, int cols, double density, int k)
    {
        var codes = new int[rows * cols];
        for (int i = 0; i < codes.Length; i++)
            codes[i] = rng.NextDouble() < density ? (int)(rng.NextDouble() * k) : -1;
        return codes;
    }

    /// <summary>k distinct nonzero centroids.</summary>
    public static float[] Centroids(Rng rng, int k)
    {
        var c = new float[k];
        for (int i = 0; i < k; i++) c[i] = (float)(rng.NextDouble() - 0.5) + (i % 2 == 0 ? 1e-3f : -1e-3f);
        return c;
    }

    /// <summary>Dense matrix of a coded one (pruned = 0).</summary>
    public static float[] Dense(int[] codes, float[] centroids)
    {
        var w = new float[codes.Length];
        for (int i = 0; i < w.Length; i++) w[i] = codes[i] < 0 ? 0f : centroids[codes[i]];
        return w;
    }

    public static float[] Random(Rng rng, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>y[b, r] = sum_c w[r, c] x[b, c] in float64.</summary>
    public static float[] RowsReference(float[] w, int rows, int cols, float[] x, int batch)
    {
        var y = new float[batch * rows];
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < rows; r++)
            {
                double s = 0;
                for (int c = 0; c < cols; c++) s += (double)w[r * cols + c] * x[b * cols + c];
                y[b * rows + r] = (float)s;
            }
        return y;
    }

    /// <summary>Y[r, j] = sum_c w[r, c] X[c, j] in float64.</summary>
    public static float[] ColumnsReference(float[] w, int rows, int cols, float[] x, int n)
    {
        var y = new float[rows * n];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int c = 0; c < cols; c++) s += (double)w[r * cols + c] * x[c * n + j];
                y[r * n + j] = (float)s;
            }
        return y;
    }

    public static float MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        float m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }
}

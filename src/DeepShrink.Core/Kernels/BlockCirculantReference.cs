namespace DeepShrink.Core.Kernels;

/// <summary>
/// The specification of <see cref="BlockCirculantKernels"/>: the explicit dense matrix W D in float64 and
/// plain matrix products with it, O(p q b^2) per sample.
/// </summary>
/// <remarks>
/// (W D)[i b + r, j b + s] = w_ij[(r - s) mod b] d[j b + s] for block row i, block column j and
/// r, s in [0, b); the weight gradient is dL/dw_ij[k] = sum_n sum_r dy[n, i b + r] (d x)[n, j b + ((r - k) mod b)].
/// </remarks>
public static class BlockCirculantReference
{
    /// <summary>The dense matrix W D, [p b, q b] row-major, in float64.</summary>
    public static double[] Dense(BlockCirculantShape shape,
        ReadOnlySpan<float> blocks, // [p, q, b]
        ReadOnlySpan<float> signs)  // [q b], or empty
    {
        int p = shape.OutBlocks, q = shape.InBlocks, b = shape.BlockSize, inF = shape.In;
        if (blocks.Length != p * q * b) throw new ArgumentException($"blocks has {blocks.Length} elements, expected {p * q * b}");
        if (!signs.IsEmpty && signs.Length != inF) throw new ArgumentException($"signs has {signs.Length} elements, expected {inF}");
        var m = new double[(long)shape.Out * inF];
        for (int i = 0; i < p; i++)
            for (int j = 0; j < q; j++)
                for (int r = 0; r < b; r++)
                    for (int s = 0; s < b; s++)
                    {
                        int col = j * b + s;
                        double d = signs.IsEmpty ? 1.0 : signs[col];
                        m[(long)(i * b + r) * inF + col] = blocks[(i * q + j) * b + ((r - s) % b + b) % b] * d;
                    }
        return m;
    }

    /// <summary>y = (W D) x for each sample, in float64.</summary>
    public static double[] Forward(BlockCirculantShape shape, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> blocks, ReadOnlySpan<float> signs) =>
        Apply(Dense(shape, blocks, signs), shape.Out, shape.In, batch, x, transpose: false);

    /// <summary>dx = (W D)^T dy per sample, in float64.</summary>
    public static double[] InputGradient(BlockCirculantShape shape, int batch, ReadOnlySpan<float> blocks, ReadOnlySpan<float> signs, ReadOnlySpan<float> dy) =>
        Apply(Dense(shape, blocks, signs), shape.Out, shape.In, batch, dy, transpose: true);

    /// <summary>Per sample, M v (or M^T v) for the dense M [rows, cols]: v is [batch, cols] (or [batch, rows]).</summary>
    private static double[] Apply(double[] m, int rows, int cols, int batch, ReadOnlySpan<float> v, bool transpose)
    {
        int vLen = transpose ? rows : cols, rLen = transpose ? cols : rows;
        var r = new double[batch * rLen];
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < rLen; o++)
            {
                double s = 0;
                for (int c = 0; c < vLen; c++)
                    s += (transpose ? m[(long)c * cols + o] : m[(long)o * cols + c]) * v[n * vLen + c];
                r[n * rLen + o] = s;
            }
        return r;
    }

    /// <summary>dL/dw for every defining vector, summed over the batch, in float64: [p, q, b].</summary>
    public static double[] BlockGradient(BlockCirculantShape shape, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> signs, ReadOnlySpan<float> dy)
    {
        int p = shape.OutBlocks, q = shape.InBlocks, b = shape.BlockSize, inF = shape.In, outF = shape.Out;
        var g = new double[p * q * b];
        for (int i = 0; i < p; i++)
            for (int j = 0; j < q; j++)
                for (int k = 0; k < b; k++)
                {
                    double s = 0;
                    for (int n = 0; n < batch; n++)
                        for (int r = 0; r < b; r++)
                        {
                            int col = j * b + ((r - k) % b + b) % b;
                            double u = x[n * inF + col] * (signs.IsEmpty ? 1.0 : signs[col]);
                            s += dy[n * outF + i * b + r] * u;
                        }
                    g[(i * q + j) * b + k] = s;
                }
        return g;
    }
}

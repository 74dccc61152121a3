namespace DeepShrink.Core.Kernels;

/// <summary>Scalar specification of <see cref="BinaryWeightGemm"/> (double accumulation, bit by bit).</summary>
public static class BinaryWeightGemmReference
{
    /// <summary>y[i, j] = alpha[j] * sum_p x[i, p] s(W[j, p]) + bias[j]; empty alpha = 1, empty bias = 0.</summary>
    public static void Multiply(int m, int n, int k,
        ReadOnlySpan<float> x, int ldx, // [m, k]
        ReadOnlySpan<ulong> w, int ldw, // [n, words]
        ReadOnlySpan<float> alpha,      // [n], [1] or empty
        ReadOnlySpan<float> bias,       // [n] or empty
        Span<float> y, int ldy)         // [m, n]
    {
        BinaryWeightGemm.Validate(m, n, k, x.Length, ldx, w.Length, ldw, alpha.Length, bias.Length, y.Length, ldy);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (w[j * ldw + (p >> 6)] >> (p & 63) & 1) != 0 ? x[i * ldx + p] : -(double)x[i * ldx + p];
                double a = alpha.IsEmpty ? 1.0 : alpha[alpha.Length == 1 ? 0 : j];
                y[i * ldy + j] = (float)(a * s + (bias.IsEmpty ? 0.0 : bias[j]));
            }
    }
}

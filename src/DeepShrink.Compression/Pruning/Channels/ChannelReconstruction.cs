using DeepShrink.Compression.LowRank;
using DeepShrink.Core;

namespace DeepShrink.Compression.Pruning.Channels;

/// <summary>
/// Least-squares reconstruction of a layer's output after some of its input columns are removed (ThiNet, Luo et al.
/// 2017; He et al. 2017, "Channel Pruning for Accelerating Very Deep Neural Networks"): the kept weights W' minimise
/// E ||W x - W' x_K||^2 over calibration inputs x, so W' = W H[:, K] H[K, K]^-1 with H = E[x x^T] (any positive
/// multiple, e.g. the layer-wise Hessian 2 X X^T / n). The removed channels' contribution is folded into the kept ones
/// wherever it is linearly predictable from them.
/// </summary>
public static class ChannelReconstruction
{
    /// <summary>
    /// W' [rows, keep.Length] for W [rows, cols], symmetric H [cols, cols] and kept columns <paramref name="keep"/>
    /// (a small ridge, 1e-6 of H's mean diagonal, grows only when H[K, K] is singular).
    /// </summary>
    public static float[] Refit(ReadOnlySpan<float> w, int rows, int cols, double[] h, int[] keep)
    {
        if (w.Length != rows * cols) throw new ArgumentException($"weights have {w.Length} entries, expected {rows} x {cols}");
        if (h.Length != (long)cols * cols) throw new ArgumentException($"H has {h.Length} entries, expected {cols} x {cols}");
        int k = keep.Length;
        var m = new double[(long)rows * k]; // W H[:, K]
        var hk = new double[(long)cols * k]; // H[:, K], row-major [cols, k]
        for (int i = 0; i < cols; i++)
            for (int j = 0; j < k; j++) hk[(long)i * k + j] = h[(long)i * cols + keep[j]];
        for (int r = 0; r < rows; r++)
        {
            var wr = w.Slice(r * cols, cols);
            for (int i = 0; i < cols; i++)
            {
                double wi = wr[i];
                if (wi == 0) continue;
                for (int j = 0; j < k; j++) m[(long)r * k + j] += wi * hk[(long)i * k + j];
            }
        }
        var v = new double[(long)k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) v[(long)i * k + j] = h[(long)keep[i] * cols + keep[j]];
        var x = Cholesky.SolveRight(m, rows, v, k, 1e-6);
        var result = new float[rows * k];
        for (int i = 0; i < result.Length; i++) result[i] = (float)x[i];
        return result;
    }

    /// <summary>
    /// Refits a weight tensor [O, C, ...] (or [O, C*block] for a linear after a flatten) in place for the input columns
    /// <paramref name="keepColumns"/>: kept columns get the least-squares weights, removed columns zero (they are then
    /// cut by <see cref="ChannelRemoval"/>).
    /// </summary>
    public static Tensor RefitInPlaceShape(Tensor weight, double[] h, int[] keepColumns)
    {
        var w = weight.ContiguousData();
        int rows = w.Shape[0], cols = w.Size / rows;
        var fit = Refit(w.Span, rows, cols, h, keepColumns);
        var full = new float[w.Size];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < keepColumns.Length; j++) full[r * cols + keepColumns[j]] = fit[r * keepColumns.Length + j];
        return new Tensor(full, w.Shape.ToArray());
    }
}

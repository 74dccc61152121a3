using DeepShrink.Compression.LowRank;
using DeepShrink.Core;

namespace DeepShrink.Compression.Structured;

/// <summary>
/// Compact-filter replacements of a trained k x k convolution W [O, C, k, k], initialised to approximate it:
/// depthwise-separable (MobileNets, Howard et al. 2017) and the SqueezeNet fire module (Iandola et al. 2016).
/// </summary>
public static class CompactFilters
{
    /// <summary>
    /// Depthwise filters [C, 1, k, k] and pointwise weights [O, C, 1, 1] with W[o, c] ≈ P[o, c] D[c]: for each input
    /// channel c the best rank-1 fit (Eckart-Young) of the [O, k k] slice W[:, c], D[c] its top right singular
    /// vector and P[:, c] = W[:, c] D[c].
    /// </summary>
    public static (Tensor Depthwise, Tensor Pointwise) DepthwiseSeparable(Tensor weight)
    {
        Check(weight);
        int o = weight.Shape[0], c = weight.Shape[1], kk = weight.Shape[2] * weight.Shape[3];
        var w = weight.ToArray();
        var d = new float[c * kk]; var p = new float[o * c];
        var gram = new double[kk * kk];
        for (int ch = 0; ch < c; ch++)
        {
            Array.Clear(gram);
            for (int f = 0; f < o; f++)
                for (int i = 0; i < kk; i++)
                    for (int j = 0; j < kk; j++) gram[i * kk + j] += (double)w[(f * c + ch) * kk + i] * w[(f * c + ch) * kk + j];
            var v = SymmetricEigen.Decompose(gram, kk).Vectors.AsSpan(0, kk);
            for (int i = 0; i < kk; i++) d[ch * kk + i] = (float)v[i];
            for (int f = 0; f < o; f++)
            {
                double s = 0;
                for (int i = 0; i < kk; i++) s += w[(f * c + ch) * kk + i] * v[i];
                p[f * c + ch] = (float)s;
            }
        }
        return (new Tensor(d, c, 1, weight.Shape[2], weight.Shape[3]), new Tensor(p, o, c, 1, 1));
    }

    /// <summary>
    /// A fire module for W: squeeze [s, C, 1, 1] onto the top-s principal input directions of W (eigenvectors of
    /// sum over filters and taps of W W^T), then expand1x1 [O1, s, 1, 1] for the first O1 output channels and
    /// expand kxk [O - O1, s, k, k] for the rest, both W projected onto the squeeze directions; a 1x1 filter takes
    /// the sum of its k x k taps (the same response to a locally constant input).
    /// </summary>
    /// <remarks>The squeeze has no ReLU here (a linear bottleneck), so the module starts as a projection of W.</remarks>
    public static (Tensor Squeeze, Tensor Expand1, Tensor Expand3) Fire(Tensor weight, int squeeze, int ones)
    {
        Check(weight);
        int o = weight.Shape[0], c = weight.Shape[1], kh = weight.Shape[2], kw = weight.Shape[3], kk = kh * kw;
        if (squeeze < 1 || squeeze > c) throw new ArgumentException($"fire: squeeze channels must be in 1..{c}, got {squeeze}");
        if (ones < 0 || ones >= o) throw new ArgumentException($"fire: 1x1 expand channels must be in 0..{o - 1}, got {ones}");
        var w = weight.ToArray();
        var gram = new double[c * c];
        var col = new double[c];
        for (int f = 0; f < o; f++)
            for (int t = 0; t < kk; t++)
            {
                for (int i = 0; i < c; i++) col[i] = w[(f * c + i) * kk + t];
                for (int i = 0; i < c; i++)
                    for (int j = 0; j < c; j++) gram[i * c + j] += col[i] * col[j];
            }
        var vec = SymmetricEigen.Decompose(gram, c).Vectors;
        var sq = new float[squeeze * c];
        for (int i = 0; i < sq.Length; i++) sq[i] = (float)vec[i];
        var e1 = new float[ones * squeeze]; var e3 = new float[(o - ones) * squeeze * kk];
        for (int f = 0; f < o; f++)
            for (int s = 0; s < squeeze; s++)
            {
                double total = 0;
                for (int t = 0; t < kk; t++)
                {
                    double v = 0;
                    for (int i = 0; i < c; i++) v += w[(f * c + i) * kk + t] * vec[s * c + i];
                    total += v;
                    if (f >= ones) e3[((f - ones) * squeeze + s) * kk + t] = (float)v;
                }
                if (f < ones) e1[f * squeeze + s] = (float)total;
            }
        return (new Tensor(sq, squeeze, c, 1, 1), new Tensor(e1, ones, squeeze, 1, 1), new Tensor(e3, o - ones, squeeze, kh, kw));
    }

    private static void Check(Tensor weight)
    {
        if (weight.Rank != 4) throw new ArgumentException($"compact filters: weight must be [O, C, kh, kw], got {ShapeUtil.Format(weight.Shape)}");
    }
}

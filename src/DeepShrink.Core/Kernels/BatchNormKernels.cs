using System.Numerics;
using System.Numerics.Tensors;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Batch-normalisation kernels over x viewed as [N, C, S] (S = H W for images, 1 for [N, C]):
/// statistics per channel c over the N S values of that channel. <see cref="BatchNormReference"/> is
/// the specification.
/// </summary>
/// <remarks>
/// Ioffe and Szegedy, "Batch Normalization", 2015: xhat = (x - mean) / sqrt(var + eps),
/// y = gamma xhat + beta with the biased batch variance. Backward with batch statistics (M = N S):
/// dx = gamma / sqrt(var + eps) (dy - mean(dy) - xhat mean(dy xhat)); with fixed (running) statistics
/// dx = gamma / sqrt(var + eps) dy. dgamma = sum dy xhat, dbeta = sum dy. Sums are per (image, channel)
/// segment in float, added in image order in double; channels are split over threads.
/// </remarks>
public static unsafe class BatchNormKernels
{
    /// <summary>Per-channel batch mean and biased variance (two passes).</summary>
    public static void BatchStats(int n, int c, int s,
        ReadOnlySpan<float> x,   // [N, C, S]
        Span<float> mean,        // [C]
        Span<float> variance,    // [C]
        int threads = 0)
    {
        Check(n, c, s, x.Length);
        CheckC(c, ("mean", mean.Length), ("variance", variance.Length));
        if (n == 0) throw new ArgumentException("batch norm: batch statistics need at least one value per channel");
        double inv = 1.0 / ((double)n * s);
        fixed (float* px = x, pm = mean, pv = variance)
        {
            float* xp = px, mp = pm, vp = pv;
            ConvParallel.For(c, threads, (long)n * s, (c0, c1) =>
            {
                for (int ch = c0; ch < c1; ch++)
                {
                    double sum = 0;
                    for (int i = 0; i < n; i++) sum += TensorPrimitives.Sum(Seg(xp, i, ch, c, s));
                    float m = (float)(sum * inv);
                    double sq = 0;
                    for (int i = 0; i < n; i++) sq += SumSqDev(Seg(xp, i, ch, c, s), m);
                    mp[ch] = m; vp[ch] = (float)(sq * inv);
                }
            });
        }
    }

    /// <summary>y = (x - mean) gamma / sqrt(var + eps) + beta.</summary>
    public static void Normalize(int n, int c, int s,
        ReadOnlySpan<float> x,        // [N, C, S]
        ReadOnlySpan<float> gamma,    // [C]
        ReadOnlySpan<float> beta,     // [C]
        ReadOnlySpan<float> mean,     // [C]
        ReadOnlySpan<float> variance, // [C]
        float eps,
        Span<float> y,                // [N, C, S]
        int threads = 0)
    {
        Check(n, c, s, x.Length, ("y", y.Length));
        CheckC(c, ("gamma", gamma.Length), ("beta", beta.Length), ("mean", mean.Length), ("variance", variance.Length));
        fixed (float* px = x, pg = gamma, pb = beta, pm = mean, pv = variance, py = y)
        {
            float* xp = px, gp = pg, bp = pb, mp = pm, vp = pv, yp = py;
            ConvParallel.For(c, threads, (long)n * s, (c0, c1) =>
            {
                for (int ch = c0; ch < c1; ch++)
                {
                    float scale = gp[ch] / MathF.Sqrt(vp[ch] + eps), shift = bp[ch] - mp[ch] * scale;
                    for (int i = 0; i < n; i++) Affine(Seg(xp, i, ch, c, s), scale, default, 0f, shift, Seg(yp, i, ch, c, s));
                }
            });
        }
    }

    /// <summary>
    /// Backward. <paramref name="batchStats"/>: whether mean/variance were the batch statistics of x
    /// (training) or fixed buffers (eval). Empty <paramref name="dx"/>, <paramref name="dgamma"/> or
    /// <paramref name="dbeta"/> are skipped; the others are overwritten.
    /// </summary>
    public static void Backward(int n, int c, int s,
        ReadOnlySpan<float> x,        // [N, C, S]
        ReadOnlySpan<float> dy,       // [N, C, S]
        ReadOnlySpan<float> gamma,    // [C]
        ReadOnlySpan<float> mean,     // [C]
        ReadOnlySpan<float> variance, // [C]
        float eps, bool batchStats,
        Span<float> dx,               // [N, C, S] or empty
        Span<float> dgamma,           // [C] or empty
        Span<float> dbeta,            // [C] or empty
        int threads = 0)
    {
        Check(n, c, s, x.Length, ("dy", dy.Length));
        CheckC(c, ("gamma", gamma.Length), ("mean", mean.Length), ("variance", variance.Length));
        if (dx.Length != 0) Check(n, c, s, x.Length, ("dx", dx.Length));
        if (dgamma.Length != 0) CheckC(c, ("dgamma", dgamma.Length));
        if (dbeta.Length != 0) CheckC(c, ("dbeta", dbeta.Length));
        bool wantX = dx.Length != 0, wantG = dgamma.Length != 0, wantB = dbeta.Length != 0;
        double m = (double)n * s;
        fixed (float* px = x, pdy = dy, pg = gamma, pm = mean, pv = variance, pdx = dx, pdg = dgamma, pdb = dbeta)
        {
            float* xp = px, dyp = pdy, gp = pg, mp = pm, vp = pv, dxp = pdx, dgp = pdg, dbp = pdb;
            ConvParallel.For(c, threads, (long)n * s, (c0, c1) =>
            {
                for (int ch = c0; ch < c1; ch++)
                {
                    float mu = mp[ch], invStd = 1f / MathF.Sqrt(vp[ch] + eps);
                    double sdy = 0, sdyx = 0; // sum dy, sum dy (x - mean)
                    if (wantG || wantB || (wantX && batchStats))
                        for (int i = 0; i < n; i++)
                        {
                            var d = Seg(dyp, i, ch, c, s);
                            sdy += TensorPrimitives.Sum(d);
                            sdyx += SumProdDev(d, Seg(xp, i, ch, c, s), mu);
                        }
                    if (wantB) dbp[ch] = (float)sdy;
                    if (wantG) dgp[ch] = (float)(sdyx * invStd);
                    if (!wantX) continue;
                    // dx = p dy + q x + r
                    double k = (double)gp[ch] * invStd;
                    float p = (float)k, q = 0f, r = 0f;
                    if (batchStats && m > 0)
                    {
                        double qd = -k * invStd * invStd * sdyx / m;
                        q = (float)qd;
                        r = (float)(-k * sdy / m - qd * mu);
                    }
                    for (int i = 0; i < n; i++) Affine(Seg(dyp, i, ch, c, s), p, Seg(xp, i, ch, c, s), q, r, Seg(dxp, i, ch, c, s));
                }
            });
        }
    }

    /// <summary>
    /// Running-statistics update (PyTorch convention): running = (1 - momentum) running + momentum batch,
    /// with the unbiased variance var count / (count - 1).
    /// </summary>
    public static void UpdateRunning(ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, long count, float momentum,
        Span<float> runningMean, Span<float> runningVar) // all [C]
    {
        if (count < 2) throw new ArgumentException($"batch norm: need more than one value per channel to update running statistics, got {count}");
        int c = mean.Length;
        if (variance.Length != c || runningMean.Length != c || runningVar.Length != c)
            throw new ArgumentException($"batch norm: statistics lengths {mean.Length}, {variance.Length}, {runningMean.Length}, {runningVar.Length} differ");
        double unbias = (double)count / (count - 1);
        for (int ch = 0; ch < c; ch++)
        {
            runningMean[ch] = (1f - momentum) * runningMean[ch] + momentum * mean[ch];
            runningVar[ch] = (float)((1.0 - momentum) * runningVar[ch] + momentum * (variance[ch] * unbias));
        }
    }

    private static Span<float> Seg(float* p, int i, int ch, int c, int s) => new(p + ((long)i * c + ch) * s, s);

    /// <summary>Checks sizes and that x and the named full-size buffers hold N C S elements.</summary>
    internal static void Check(int n, int c, int s, int xLen, params (string name, int len)[] full)
    {
        if (n < 0 || c < 1 || s < 1) throw new ArgumentException($"batch norm: invalid sizes N={n} C={c} S={s}");
        long total = (long)n * c * s;
        if (xLen != total) throw new ArgumentException($"batch norm: x has {xLen} elements, expected {total} for [{n}, {c}, {s}]");
        foreach (var (name, len) in full)
            if (len != total) throw new ArgumentException($"batch norm: {name} has {len} elements, expected {total} for [{n}, {c}, {s}]");
    }

    /// <summary>Checks that the named per-channel buffers hold C elements.</summary>
    internal static void CheckC(int c, params (string name, int len)[] perChannel)
    {
        foreach (var (name, len) in perChannel)
            if (len != c) throw new ArgumentException($"batch norm: {name} has {len} elements, expected {c} (one per channel)");
    }

    /// <summary>sum (x - m)^2.</summary>
    private static float SumSqDev(ReadOnlySpan<float> x, float m)
    {
        int i = 0, vw = Vector<float>.Count;
        var acc = Vector<float>.Zero; var vm = new Vector<float>(m);
        for (; i <= x.Length - vw; i += vw) { var d = new Vector<float>(x.Slice(i)) - vm; acc += d * d; }
        float r = Vector.Sum(acc);
        for (; i < x.Length; i++) { float d = x[i] - m; r += d * d; }
        return r;
    }

    /// <summary>sum d (x - m).</summary>
    private static float SumProdDev(ReadOnlySpan<float> d, ReadOnlySpan<float> x, float m)
    {
        int i = 0, vw = Vector<float>.Count;
        var acc = Vector<float>.Zero; var vm = new Vector<float>(m);
        for (; i <= x.Length - vw; i += vw) acc += new Vector<float>(d.Slice(i)) * (new Vector<float>(x.Slice(i)) - vm);
        float r = Vector.Sum(acc);
        for (; i < x.Length; i++) r += d[i] * (x[i] - m);
        return r;
    }

    /// <summary>dst = p a + q b + r (b may be empty when q is 0).</summary>
    private static void Affine(ReadOnlySpan<float> a, float p, ReadOnlySpan<float> b, float q, float r, Span<float> dst)
    {
        int i = 0, vw = Vector<float>.Count;
        bool hasB = q != 0f;
        var vp = new Vector<float>(p); var vq = new Vector<float>(q); var vr = new Vector<float>(r);
        for (; i <= a.Length - vw; i += vw)
        {
            var v = new Vector<float>(a.Slice(i)) * vp + vr;
            if (hasB) v += new Vector<float>(b.Slice(i)) * vq;
            v.CopyTo(dst.Slice(i));
        }
        for (; i < a.Length; i++) dst[i] = p * a[i] + r + (hasB ? q * b[i] : 0f);
    }
}

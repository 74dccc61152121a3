using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// One fused SGD update (weight decay, momentum, Nesterov) in a single pass over the parameter, its
/// gradient and its velocity. <see cref="SgdReference"/> is the specification; results are bit-identical
/// to it: the same multiplies and adds per element, in the same order, never fused into FMAs.
/// </summary>
/// <remarks>
/// PyTorch's convention: g' = g + wd w; v = mu v + g'; step = nesterov ? g' + mu v : v; w -= lr step,
/// evaluated as g' = w wd + g, v = v mu + g', then w = g' (-lr) + w followed by w = v (-lr mu) + w
/// (Nesterov) or w = v (-lr) + w; without momentum w = g' (-lr) + w. Long buffers are cut into fixed
/// blocks shared out over threads.
/// </remarks>
public static unsafe class SgdKernels
{
    private const int BlockElements = 1 << 14;

    /// <summary>Updates <paramref name="w"/> (and <paramref name="v"/> when <paramref name="momentum"/> is not 0) in place.</summary>
    public static void Step(float lr, float momentum, float weightDecay, bool nesterov,
        Span<float> w,            // [n]
        ReadOnlySpan<float> g,    // [n]
        Span<float> v,            // [n], or empty when momentum is 0
        int threads = 0)
    {
        if (g.Length != w.Length || (momentum != 0f && v.Length != w.Length))
            throw new ArgumentException($"sgd: parameter has {w.Length} elements, gradient {g.Length}, velocity {v.Length}");
        fixed (float* pw = w, pg = g, pv = v)
        {
            float* wp = pw, gp = pg, vp = momentum != 0f ? pv : null;
            ConvParallel.ForBlocks(w.Length, BlockElements, threads, (s, e) => Run(lr, momentum, weightDecay, nesterov, wp + s, gp + s, vp == null ? null : vp + s, e - s));
        }
    }

    private static void Run(float lr, float mu, float wd, bool nesterov, float* w, float* g, float* v, int n)
    {
        int i = 0;
        float nlr = -lr, nlrMu = -lr * mu;
        bool decay = wd != 0f;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> vwd = Vector512.Create(wd), vmu = Vector512.Create(mu), vlr = Vector512.Create(nlr), vlm = Vector512.Create(nlrMu);
            for (; i <= n - 16; i += 16)
            {
                var wi = Vector512.Load(w + i);
                var gi = Vector512.Load(g + i);
                if (decay) gi = wi * vwd + gi;
                if (v == null) { (gi * vlr + wi).Store(w + i); continue; }
                var vi = Vector512.Load(v + i) * vmu + gi;
                vi.Store(v + i);
                (nesterov ? vi * vlm + (gi * vlr + wi) : vi * vlr + wi).Store(w + i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vwd = Vector256.Create(wd), vmu = Vector256.Create(mu), vlr = Vector256.Create(nlr), vlm = Vector256.Create(nlrMu);
            for (; i <= n - 8; i += 8)
            {
                var wi = Vector256.Load(w + i);
                var gi = Vector256.Load(g + i);
                if (decay) gi = wi * vwd + gi;
                if (v == null) { (gi * vlr + wi).Store(w + i); continue; }
                var vi = Vector256.Load(v + i) * vmu + gi;
                vi.Store(v + i);
                (nesterov ? vi * vlm + (gi * vlr + wi) : vi * vlr + wi).Store(w + i);
            }
        }
        for (; i < n; i++)
        {
            float gi = decay ? w[i] * wd + g[i] : g[i];
            if (v == null) { w[i] = gi * nlr + w[i]; continue; }
            float vi = v[i] = v[i] * mu + gi;
            w[i] = nesterov ? vi * nlrMu + (gi * nlr + w[i]) : vi * nlr + w[i];
        }
    }
}

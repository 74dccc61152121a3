using System.Buffers;
using System.Numerics.Tensors;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Block-circulant (and, as the 1 x 1 grid, circulant) linear operators y = W D x through real FFTs:
/// forward, backward for the input and for the defining vectors, batched, multi-threaded.
/// <see cref="BlockCirculantReference"/> (the explicit dense matrix in float64) is the specification.
/// </summary>
/// <remarks>
/// W is a grid of p x q circulant blocks C(w_ij) of size b, block (i, j) defined by its first column:
/// C(w)[r, s] = w[(r - s) mod b]; D = diag(d) is an optional fixed diagonal (random +-1 sign flips in
/// Cheng et al. 2015, "An exploration of parameter redundancy in deep networks with circulant
/// projections", ICCV; none in CirCNN, Ding et al. 2017, MICRO). With F the real DFT of size b and u = d x,
/// <list type="bullet">
/// <item>forward: Y_i = sum_j F(w_ij) F(u_j), y_i = F^-1 Y_i (the weight spectra are computed once per call);</item>
/// <item>input gradient: du_j = F^-1 sum_i conj(F(w_ij)) F(gy_i), dx = d du (C^T is correlation);</item>
/// <item>weight gradient: dw_ij = F^-1 sum_batch F(gy_i) conj(F(u_j)).</item>
/// </list>
/// Cost per sample O((p + q) b log b + p q b) against O(p q b^2) for the dense product. Results do not depend on
/// the thread count: each output is reduced by one thread in a fixed order (samples for the
/// weight gradient, blocks for the rest).
/// </remarks>
public static unsafe class BlockCirculantKernels
{
    /// <summary>The split spectra of all defining vectors, [p, q, 2 (b/2 + 1)], for <see cref="ForwardSpectra"/>.</summary>
    public static void WeightSpectra(BlockCirculantShape shape,
        ReadOnlySpan<float> blocks, // [p, q, b]
        Span<float> spectra,        // [p, q, 2 (b/2 + 1)]
        int threads = 0)
    {
        int b = shape.BlockSize, sf = shape.SpectrumFloats, count = shape.OutBlocks * shape.InBlocks;
        Check(blocks.Length, count * b, "blocks");
        Check(spectra.Length, count * sf, "spectra");
        var plan = FftPlan.Get(b);
        fixed (float* pw = blocks, ps = spectra)
        {
            float* w = pw, s = ps;
            ConvParallel.For(count, threads, 5L * b, (k0, k1) =>
            {
                for (int k = k0; k < k1; k++) plan.Forward(new ReadOnlySpan<float>(w + (long)k * b, b), new Span<float>(s + (long)k * sf, sf));
            });
        }
    }

    /// <summary>Forward y = W D x: the weight spectra are computed, then <see cref="ForwardSpectra"/> runs.</summary>
    public static void Forward(BlockCirculantShape shape, int batch,
        ReadOnlySpan<float> x,      // [batch, q b]
        ReadOnlySpan<float> blocks, // [p, q, b]
        ReadOnlySpan<float> signs,  // [q b], or empty for D = I
        Span<float> y,              // [batch, p b]
        int threads = 0)
    {
        int len = shape.OutBlocks * shape.InBlocks * shape.SpectrumFloats;
        float[] spectra = ArrayPool<float>.Shared.Rent(len);
        try
        {
            WeightSpectra(shape, blocks, spectra.AsSpan(0, len), threads);
            ForwardSpectra(shape, batch, x, spectra.AsSpan(0, len), signs, y, threads);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(spectra);
        }
    }

    /// <summary>Forward y = W D x from precomputed weight spectra (see <see cref="WeightSpectra"/>), e.g. cached by an inference runtime.</summary>
    public static void ForwardSpectra(BlockCirculantShape shape, int batch,
        ReadOnlySpan<float> x,       // [batch, q b]
        ReadOnlySpan<float> spectra, // [p, q, 2 (b/2 + 1)]
        ReadOnlySpan<float> signs,   // [q b], or empty
        Span<float> y,               // [batch, p b]
        int threads = 0)
    {
        int p = shape.OutBlocks, q = shape.InBlocks, b = shape.BlockSize, sf = shape.SpectrumFloats, bins = sf / 2;
        int inF = shape.In, outF = shape.Out;
        CheckOperands(shape, batch, x.Length, signs.Length);
        Check(spectra.Length, p * q * sf, "spectra");
        Check(y.Length, batch * outF, "y");
        var plan = FftPlan.Get(b);
        fixed (float* px = x, pw = spectra, pd = signs, py = y)
        {
            float* xp = px, wp = pw, dp = signs.IsEmpty ? null : pd, yp = py;
            ConvParallel.For(batch, threads, 10L * (p + q) * b + 4L * p * q * b, (n0, n1) =>
            {
                float[] scratch = ArrayPool<float>.Shared.Rent(q * sf + sf + b);
                try
                {
                    var xs = scratch.AsSpan(0, q * sf); var acc = scratch.AsSpan(q * sf, sf); var u = scratch.AsSpan(q * sf + sf, b);
                    for (int n = n0; n < n1; n++)
                    {
                        InputSpectra(plan, q, b, new ReadOnlySpan<float>(xp + (long)n * inF, inF), dp, u, xs);
                        for (int i = 0; i < p; i++)
                        {
                            acc.Clear();
                            for (int j = 0; j < q; j++)
                                SpectralProducts.MultiplyAdd(new ReadOnlySpan<float>(wp + (long)(i * q + j) * sf, sf), xs.Slice(j * sf, sf), acc, bins, false);
                            plan.Inverse(acc, new Span<float>(yp + (long)n * outF + i * b, b));
                        }
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(scratch);
                }
            });
        }
    }

    /// <summary>
    /// Gradients of y = W D x given dy: <paramref name="dx"/> = D W^T dy (skipped when empty) and
    /// <paramref name="dBlocks"/> = dL/dw summed over the batch (skipped when empty). Both are overwritten.
    /// </summary>
    public static void Backward(BlockCirculantShape shape, int batch,
        ReadOnlySpan<float> x,      // [batch, q b]
        ReadOnlySpan<float> blocks, // [p, q, b]
        ReadOnlySpan<float> signs,  // [q b], or empty
        ReadOnlySpan<float> dy,     // [batch, p b]
        Span<float> dx,             // [batch, q b], or empty
        Span<float> dBlocks,        // [p, q, b], or empty
        int threads = 0)
    {
        int p = shape.OutBlocks, q = shape.InBlocks, b = shape.BlockSize, sf = shape.SpectrumFloats, bins = sf / 2;
        int inF = shape.In, outF = shape.Out;
        CheckOperands(shape, batch, x.Length, signs.Length);
        Check(blocks.Length, p * q * b, "blocks");
        Check(dy.Length, batch * outF, "dy");
        if (!dx.IsEmpty) Check(dx.Length, batch * inF, "dx");
        if (!dBlocks.IsEmpty) Check(dBlocks.Length, p * q * b, "dBlocks");
        bool needDx = !dx.IsEmpty, needDw = !dBlocks.IsEmpty;
        if (!needDx && !needDw) return;
        var plan = FftPlan.Get(b);
        int gyLen = batch * p * sf, xsLen = needDw ? batch * q * sf : 0, wLen = needDx ? p * q * sf : 0;
        float[] work = ArrayPool<float>.Shared.Rent(gyLen + xsLen + wLen);
        try
        {
            if (needDx) WeightSpectra(shape, blocks, work.AsSpan(gyLen + xsLen, wLen), threads);
            fixed (float* px = x, pd = signs, pgy = dy, pdx = dx, pdw = dBlocks, pwork = work)
            {
                float* xp = px, dp = signs.IsEmpty ? null : pd, gyp = pgy, dxp = pdx, dwp = pdw;
                float* gys = pwork, xss = pwork + gyLen, ws = pwork + gyLen + xsLen;
                // 1. Spectra of dy (and of D x for the weight gradient), per sample.
                ConvParallel.For(batch, threads, 5L * (p + q) * b, (n0, n1) =>
                {
                    float[] u = ArrayPool<float>.Shared.Rent(b);
                    try
                    {
                        for (int n = n0; n < n1; n++)
                        {
                            for (int i = 0; i < p; i++)
                                plan.Forward(new ReadOnlySpan<float>(gyp + (long)n * outF + i * b, b), new Span<float>(gys + ((long)n * p + i) * sf, sf));
                            if (needDw)
                                InputSpectra(plan, q, b, new ReadOnlySpan<float>(xp + (long)n * inF, inF), dp, u.AsSpan(0, b), new Span<float>(xss + (long)n * q * sf, q * sf));
                        }
                    }
                    finally
                    {
                        ArrayPool<float>.Shared.Return(u);
                    }
                });
                // 2. dx_j = d_j F^-1 sum_i conj(W_ij) GY_i, per sample.
                if (needDx)
                    ConvParallel.For(batch, threads, 5L * (p + q) * b + 4L * p * q * b, (n0, n1) =>
                    {
                        float[] acc = ArrayPool<float>.Shared.Rent(sf);
                        try
                        {
                            var a = acc.AsSpan(0, sf);
                            for (int n = n0; n < n1; n++)
                                for (int j = 0; j < q; j++)
                                {
                                    a.Clear();
                                    for (int i = 0; i < p; i++)
                                        SpectralProducts.MultiplyAdd(new ReadOnlySpan<float>(gys + ((long)n * p + i) * sf, sf),
                                            new ReadOnlySpan<float>(ws + (long)(i * q + j) * sf, sf), a, bins, true);
                                    var dst = new Span<float>(dxp + (long)n * inF + j * b, b);
                                    plan.Inverse(a, dst);
                                    if (dp != null) TensorPrimitives.Multiply(dst, new ReadOnlySpan<float>(dp + j * b, b), dst);
                                }
                        }
                        finally
                        {
                            ArrayPool<float>.Shared.Return(acc);
                        }
                    });
                // 3. dw_ij = F^-1 sum_n GY_{n,i} conj(U_{n,j}), per block, samples summed in order.
                if (needDw)
                    ConvParallel.For(p * q, threads, 4L * batch * b + 5L * b, (k0, k1) =>
                    {
                        float[] acc = ArrayPool<float>.Shared.Rent(sf);
                        try
                        {
                            var a = acc.AsSpan(0, sf);
                            for (int k = k0; k < k1; k++)
                            {
                                int i = k / q, j = k % q;
                                a.Clear();
                                for (int n = 0; n < batch; n++)
                                    SpectralProducts.MultiplyAdd(new ReadOnlySpan<float>(gys + ((long)n * p + i) * sf, sf),
                                        new ReadOnlySpan<float>(xss + ((long)n * q + j) * sf, sf), a, bins, true);
                                plan.Inverse(a, new Span<float>(dwp + (long)k * b, b));
                            }
                        }
                        finally
                        {
                            ArrayPool<float>.Shared.Return(acc);
                        }
                    });
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(work);
        }
    }

    /// <summary>Spectra of the q input blocks of one sample after the sign flips: spectra[j] = F(d_j x_j).</summary>
    private static void InputSpectra(FftPlan plan, int q, int b, ReadOnlySpan<float> x, float* signs, Span<float> u, Span<float> spectra)
    {
        int sf = plan.SpectrumFloats;
        for (int j = 0; j < q; j++)
        {
            var xj = x.Slice(j * b, b);
            if (signs != null)
            {
                TensorPrimitives.Multiply(xj, new ReadOnlySpan<float>(signs + j * b, b), u);
                xj = u;
            }
            plan.Forward(xj, spectra.Slice(j * sf, sf));
        }
    }

    private static void CheckOperands(BlockCirculantShape shape, int batch, int xLength, int signsLength)
    {
        if (batch < 0) throw new ArgumentException($"block-circulant: negative batch {batch}");
        Check(xLength, batch * shape.In, "x");
        if (signsLength != 0) Check(signsLength, shape.In, "signs");
    }

    private static void Check(int actual, int expected, string name)
    {
        if (actual != expected) throw new ArgumentException($"block-circulant: {name} has {actual} elements, expected {expected}");
    }
}

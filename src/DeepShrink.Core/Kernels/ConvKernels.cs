using System.Buffers;
using System.Numerics.Tensors;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Optimised 2-D convolution kernels (NCHW, stride, padding, dilation, groups): forward, backward data,
/// backward weight and bias. <see cref="ConvReference"/> is the specification.
/// </summary>
/// <remarks>
/// im2col + GEMM (Chellapilla, Puri and Simard, "High Performance Convolutional Neural Networks for
/// Document Processing", 2006): the batch is cut into chunks of images whose column matrix
/// (<see cref="Im2Col"/>) has about <see cref="ChunkTargetElements"/> entries, and each chunk costs one
/// <see cref="Gemm.Sgemm"/> per group and pass:
/// forward Y_g[Og, n] = W_g[Og, Kg] Cols_g[Kg, n]; backward data dCols_g = W_g^T dY_g, then col2im;
/// backward weight dW_g += dY_g Cols_g^T (chunks added in batch order).
/// The chunking depends only on the geometry, and the GEMM and the (image, channel) loops give
/// results that do not depend on the thread count.
/// </remarks>
public static unsafe class ConvKernels
{
    /// <summary>Target number of column-matrix entries per chunk of images (about 1 MiB of floats).</summary>
    public const int ChunkTargetElements = 1 << 18;

    /// <summary>Images per chunk for a geometry (depends on the geometry only).</summary>
    public static int ChunkImages(in ConvGeometry g)
    {
        long perImage = (long)Im2Col.Rows(g) * g.OutPlane;
        if (g.IsPointwise && g.OutPlane >= 256) return 1; // the input plane is its own column matrix
        return (int)Math.Clamp(ChunkTargetElements / Math.Max(1, perImage), 1, Math.Max(1, g.N));
    }

    /// <summary>Forward convolution; <paramref name="bias"/> may be empty.</summary>
    public static void Forward(in ConvGeometry g,
        ReadOnlySpan<float> x,    // [N, C, H, W]
        ReadOnlySpan<float> w,    // [O, C/Groups, KH, KW]
        ReadOnlySpan<float> bias, // [O] or empty
        Span<float> y,            // [N, O, OH, OW]
        int threads = 0)
    {
        CheckBuffers(g, x.Length, w.Length, y.Length, "y");
        if (bias.Length != 0) ConvGeometry.CheckLength(bias.Length, g.O, "bias", $"[{g.O}]");
        if (g.N == 0) return;
        int p = g.OutPlane, kg = g.GroupK, og = g.OPerGroup, o = g.O, chunk = ChunkImages(g);
        bool direct = chunk == 1 && g.IsPointwise;
        float[]? cols = direct ? null : ArrayPool<float>.Shared.Rent(Im2Col.Rows(g) * chunk * p);
        float[]? outBuf = chunk == 1 ? null : ArrayPool<float>.Shared.Rent(o * chunk * p);
        try
        {
            for (int n0 = 0; n0 < g.N; n0 += chunk)
            {
                int imgs = Math.Min(chunk, g.N - n0), ld = imgs * p;
                ReadOnlySpan<float> cm;
                if (direct) cm = x.Slice(n0 * g.C * p, g.C * p);
                else { Im2Col.Pack(g, x, n0, imgs, cols, threads); cm = cols; }
                Span<float> dst = outBuf is null ? y.Slice(n0 * o * p, o * p) : outBuf.AsSpan(0, o * ld);
                float beta = 0f;
                if (outBuf is null && bias.Length != 0)
                {
                    for (int oc = 0; oc < o; oc++) dst.Slice(oc * p, p).Fill(bias[oc]);
                    beta = 1f;
                }
                for (int gr = 0; gr < g.Groups; gr++)
                    Gemm.Sgemm(false, false, og, ld, kg, 1f, w.Slice(gr * og * kg), kg,
                        cm.Slice(gr * kg * ld), ld, beta, dst.Slice(gr * og * ld), ld, threads);
                if (outBuf is not null) ScatterOutput(g, outBuf, bias, n0, imgs, y, threads);
            }
        }
        finally
        {
            if (cols is not null) ArrayPool<float>.Shared.Return(cols);
            if (outBuf is not null) ArrayPool<float>.Shared.Return(outBuf);
        }
    }

    /// <summary>
    /// Backward pass. Any of <paramref name="dx"/>, <paramref name="dw"/>, <paramref name="db"/> may be
    /// empty to skip that gradient; the others are overwritten.
    /// </summary>
    public static void Backward(in ConvGeometry g,
        ReadOnlySpan<float> x,   // [N, C, H, W] (needed for dw)
        ReadOnlySpan<float> w,   // [O, C/Groups, KH, KW] (needed for dx)
        ReadOnlySpan<float> dy,  // [N, O, OH, OW]
        Span<float> dx,          // [N, C, H, W] or empty
        Span<float> dw,          // [O, C/Groups, KH, KW] or empty
        Span<float> db,          // [O] or empty
        int threads = 0)
    {
        bool needX = dx.Length != 0, needW = dw.Length != 0;
        g.Validate();
        ConvGeometry.CheckLength(dy.Length, g.OutputSize, "dy", $"[{g.N}, {g.O}, {g.OH}, {g.OW}]");
        if (needX) ConvGeometry.CheckLength(dx.Length, g.InputSize, "dx", $"[{g.N}, {g.C}, {g.H}, {g.W}]");
        if (needX) ConvGeometry.CheckLength(w.Length, g.WeightSize, "w", WeightShape(g));
        if (needW) ConvGeometry.CheckLength(dw.Length, g.WeightSize, "dw", WeightShape(g));
        if (needW) ConvGeometry.CheckLength(x.Length, g.InputSize, "x", $"[{g.N}, {g.C}, {g.H}, {g.W}]");
        if (db.Length != 0) { ConvGeometry.CheckLength(db.Length, g.O, "db", $"[{g.O}]"); BiasGrad(g, dy, db); }
        dw.Clear();
        if (g.N == 0 || (!needX && !needW)) return;

        int p = g.OutPlane, kg = g.GroupK, og = g.OPerGroup, o = g.O, chunk = ChunkImages(g);
        bool direct = chunk == 1 && g.IsPointwise;
        float[]? cols = direct ? null : ArrayPool<float>.Shared.Rent(Im2Col.Rows(g) * chunk * p);
        float[]? dyBuf = chunk == 1 ? null : ArrayPool<float>.Shared.Rent(o * chunk * p);
        try
        {
            for (int n0 = 0; n0 < g.N; n0 += chunk)
            {
                int imgs = Math.Min(chunk, g.N - n0), ld = imgs * p;
                ReadOnlySpan<float> dyc;
                if (dyBuf is null) dyc = dy.Slice(n0 * o * p, o * p);
                else { GatherOutput(g, dy, n0, imgs, dyBuf, threads); dyc = dyBuf; }
                if (needW)
                {
                    ReadOnlySpan<float> cm;
                    if (direct) cm = x.Slice(n0 * g.C * p, g.C * p);
                    else { Im2Col.Pack(g, x, n0, imgs, cols, threads); cm = cols; }
                    for (int gr = 0; gr < g.Groups; gr++)
                        Gemm.Sgemm(false, true, og, kg, ld, 1f, dyc.Slice(gr * og * ld), ld,
                            cm.Slice(gr * kg * ld), ld, n0 == 0 ? 0f : 1f, dw.Slice(gr * og * kg), kg, threads);
                }
                if (needX)
                {
                    Span<float> dcols = direct ? dx.Slice(n0 * g.C * p, g.C * p) : cols;
                    for (int gr = 0; gr < g.Groups; gr++)
                        Gemm.Sgemm(true, false, kg, ld, og, 1f, w.Slice(gr * og * kg), kg,
                            dyc.Slice(gr * og * ld), ld, 0f, dcols.Slice(gr * kg * ld), ld, threads);
                    if (!direct) Im2Col.Unpack(g, cols, n0, imgs, dx, threads);
                }
            }
        }
        finally
        {
            if (cols is not null) ArrayPool<float>.Shared.Return(cols);
            if (dyBuf is not null) ArrayPool<float>.Shared.Return(dyBuf);
        }
    }

    internal static string WeightShape(in ConvGeometry g) => $"[{g.O}, {g.CPerGroup}, {g.KH}, {g.KW}]";

    private static void CheckBuffers(in ConvGeometry g, int xLen, int wLen, int yLen, string yName)
    {
        g.Validate();
        ConvGeometry.CheckLength(xLen, g.InputSize, "x", $"[{g.N}, {g.C}, {g.H}, {g.W}]");
        ConvGeometry.CheckLength(wLen, g.WeightSize, "w", WeightShape(g));
        ConvGeometry.CheckLength(yLen, g.OutputSize, yName, $"[{g.N}, {g.O}, {g.OH}, {g.OW}]");
    }

    /// <summary>db[o] = sum over images and positions of dy[n, o, :], in a fixed order.</summary>
    private static void BiasGrad(in ConvGeometry g, ReadOnlySpan<float> dy, Span<float> db)
    {
        int p = g.OutPlane;
        for (int oc = 0; oc < g.O; oc++)
        {
            double s = 0;
            for (int n = 0; n < g.N; n++) s += TensorPrimitives.Sum(dy.Slice((n * g.O + oc) * p, p));
            db[oc] = (float)s;
        }
    }

    /// <summary>y[n0 + i, o, :] = buf[o, i P .. (i + 1) P] + bias[o].</summary>
    private static void ScatterOutput(ConvGeometry g, float[] buf, ReadOnlySpan<float> bias, int n0, int imgs, Span<float> y, int threads)
    {
        int p = g.OutPlane, o = g.O, ld = imgs * p;
        fixed (float* pb = buf, py = y, pbias = bias)
        {
            float* bp = pb, yp = py, biasp = pbias;
            bool hasBias = bias.Length != 0;
            ConvParallel.For(imgs * o, threads, p, (s, e) =>
            {
                for (int u = s; u < e; u++)
                {
                    int i = u / o, oc = u % o;
                    var src = new ReadOnlySpan<float>(bp + (long)oc * ld + (long)i * p, p);
                    var dst = new Span<float>(yp + (long)((n0 + i) * o + oc) * p, p);
                    if (hasBias) TensorPrimitives.Add(src, biasp[oc], dst); else src.CopyTo(dst);
                }
            });
        }
    }

    /// <summary>buf[o, i P .. (i + 1) P] = dy[n0 + i, o, :].</summary>
    private static void GatherOutput(ConvGeometry g, ReadOnlySpan<float> dy, int n0, int imgs, float[] buf, int threads)
    {
        int p = g.OutPlane, o = g.O, ld = imgs * p;
        fixed (float* pb = buf, pd = dy)
        {
            float* bp = pb, dp = pd;
            ConvParallel.For(imgs * o, threads, p, (s, e) =>
            {
                for (int u = s; u < e; u++)
                {
                    int i = u / o, oc = u % o;
                    new ReadOnlySpan<float>(dp + (long)((n0 + i) * o + oc) * p, p).CopyTo(new Span<float>(bp + (long)oc * ld + (long)i * p, p));
                }
            });
        }
    }
}

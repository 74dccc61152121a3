using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Optimised 2-D convolution kernels (NCHW, stride, padding, dilation, groups): forward, backward data,
/// backward weight and bias. <see cref="ConvReference"/> is the specification.
/// </summary>
/// <remarks>
/// im2col + GEMM (Chellapilla, Puri and Simard, "High Performance Convolutional Neural Networks for
/// Document Processing", 2006). The batch is cut into chunks of images whose column matrix
/// (<see cref="Im2Col"/>) has about <see cref="ChunkTargetElements"/> entries (cache sized); each chunk
/// costs one <see cref="Gemm.Sgemm"/> per group and pass: forward Y_g[Og, n] = W_g[Og, Kg] Cols_g[Kg, n];
/// backward data dCols_g = W_g^T dY_g, then col2im; backward weight dW_g = sum over chunks of
/// dY_g Cols_g^T. The GEMMs see the chunk's outputs in chunk-major order [O, images x OH OW] (a copy of
/// the NCHW data), except for planes of at least <see cref="PerImageMinPlane"/> positions, where each
/// image's GEMMs work straight on its NCHW block (columns [i OH OW, (i + 1) OH OW) of the chunk's column
/// matrix) and no copy is made. Threads take whole chunks (each with a single-threaded GEMM) when there are enough
/// of them, otherwise the GEMM itself is threaded. For the weight gradient the chunks are grouped into
/// at most <see cref="MaxWeightSlots"/> slots fixed by the geometry; each slot sums its chunks in order
/// and the slots are added in order, so results never depend on the thread count.
/// </remarks>
public static unsafe class ConvKernels
{
    /// <summary>Target number of column-matrix entries per chunk of images (512 KiB of floats).</summary>
    public const int ChunkTargetElements = 1 << 17;

    /// <summary>Most partial weight-gradient buffers (and so threads) the weight gradient uses.</summary>
    public const int MaxWeightSlots = 8;

    /// <summary>
    /// From this many output positions per image on, a chunk's GEMMs run image by image straight on the
    /// NCHW output (and output gradient) instead of through a chunk-major copy.
    /// </summary>
    public const int PerImageMinPlane = 256;

    /// <summary>Bound on the floats held by partial weight gradients.</summary>
    private const long SlotBudgetElements = 1 << 22;

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
        g.Validate();
        ConvGeometry.CheckLength(x.Length, g.InputSize, "x", g.InputShapeText);
        ConvGeometry.CheckLength(w.Length, g.WeightSize, "w", g.WeightShapeText);
        ConvGeometry.CheckLength(y.Length, g.OutputSize, "y", g.OutputShapeText);
        if (bias.Length != 0) ConvGeometry.CheckLength(bias.Length, g.O, "bias", $"[{g.O}]");
        if (g.N == 0) return;
        var plan = new Plan(g, ConvParallel.Resolve(threads), false);
        fixed (float* px = x, pw = w, pb = bias, py = y)
        {
            float* xp = px, wp = pw, bp = bias.Length != 0 ? pb : null, yp = py;
            var geo = g;
            ConvParallel.For(plan.Chunks, plan.Outer, g.Macs / plan.Chunks, (c0, c1) =>
            {
                using var s = new Scratch(geo, plan);
                for (int ch = c0; ch < c1; ch++) ForwardChunk(geo, plan, ch, xp, wp, bp, yp, s);
            });
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
        ConvGeometry.CheckLength(dy.Length, g.OutputSize, "dy", g.OutputShapeText);
        if (needX) { ConvGeometry.CheckLength(dx.Length, g.InputSize, "dx", g.InputShapeText); ConvGeometry.CheckLength(w.Length, g.WeightSize, "w", g.WeightShapeText); }
        if (needW) { ConvGeometry.CheckLength(dw.Length, g.WeightSize, "dw", g.WeightShapeText); ConvGeometry.CheckLength(x.Length, g.InputSize, "x", g.InputShapeText); }
        if (db.Length != 0) { ConvGeometry.CheckLength(db.Length, g.O, "db", $"[{g.O}]"); BiasGrad(g, dy, db); }
        dw.Clear();
        if (g.N == 0 || (!needX && !needW)) return;

        var plan = new Plan(g, ConvParallel.Resolve(threads), needW);
        int ws = g.WeightSize;
        float[]? partials = plan.Slots > 1 && needW ? ArrayPool<float>.Shared.Rent((plan.Slots - 1) * ws) : null;
        try
        {
            fixed (float* px = x, pw = w, pdy = dy, pdx = dx, pdw = dw, ppart = partials)
            {
                float* xp = px, wp = pw, dyp = pdy, dxp = needX ? pdx : null, dwp = needW ? pdw : null, partp = ppart;
                var geo = g;
                ConvParallel.For(plan.Slots, plan.Outer, 2 * g.Macs / plan.Slots, (s0, s1) =>
                {
                    using var s = new Scratch(geo, plan);
                    for (int slot = s0; slot < s1; slot++)
                    {
                        float* slotW = dwp == null ? null : slot == 0 ? dwp : partp + (long)(slot - 1) * ws;
                        int c0 = (int)((long)plan.Chunks * slot / plan.Slots), c1 = (int)((long)plan.Chunks * (slot + 1) / plan.Slots);
                        for (int ch = c0; ch < c1; ch++) BackwardChunk(geo, plan, ch, ch == c0, xp, wp, dyp, dxp, slotW, s);
                    }
                });
            }
            for (int slot = 1; slot < plan.Slots && partials is not null; slot++)
                TensorPrimitives.Add(dw, partials.AsSpan((slot - 1) * ws, ws), dw);
        }
        finally
        {
            if (partials is not null) ArrayPool<float>.Shared.Return(partials);
        }
    }

    /// <summary>How a call splits its work: chunks of images, weight slots, outer (chunk) and inner (GEMM) threads.</summary>
    private readonly struct Plan
    {
        public readonly int ChunkImgs, Chunks, Slots, Outer, Inner;
        public readonly bool Direct, PerImage;

        public Plan(in ConvGeometry g, int threads, bool weightSlots)
        {
            ChunkImgs = ChunkImages(g);
            Chunks = (g.N + ChunkImgs - 1) / ChunkImgs;
            Direct = ChunkImgs == 1 && g.IsPointwise;
            PerImage = ChunkImgs > 1 && g.OutPlane >= PerImageMinPlane;
            long budgetSlots = Math.Max(1, SlotBudgetElements / g.WeightSize);
            Slots = weightSlots ? (int)Math.Min(Math.Min(Chunks, MaxWeightSlots), budgetSlots) : Chunks;
            Outer = Math.Max(1, Math.Min(threads, Slots));
            Inner = Math.Max(1, threads / Outer);
        }
    }

    /// <summary>Per-worker scratch: the column matrix and the chunk-major output / output-gradient buffer.</summary>
    private sealed class Scratch : IDisposable
    {
        public readonly float[]? Cols, Out;

        public Scratch(in ConvGeometry g, in Plan plan)
        {
            int ld = plan.ChunkImgs * g.OutPlane;
            Cols = plan.Direct ? null : ArrayPool<float>.Shared.Rent(Im2Col.Rows(g) * ld);
            Out = plan.ChunkImgs == 1 || plan.PerImage ? null : ArrayPool<float>.Shared.Rent(g.O * ld);
        }

        public void Dispose()
        {
            if (Cols is not null) ArrayPool<float>.Shared.Return(Cols);
            if (Out is not null) ArrayPool<float>.Shared.Return(Out);
        }
    }

    private static void ForwardChunk(in ConvGeometry g, in Plan plan, int chunk,
        float* x, float* w, float* bias, float* y, Scratch s)
    {
        int p = g.OutPlane, kg = g.GroupK, og = g.OPerGroup, o = g.O;
        int n0 = chunk * plan.ChunkImgs, imgs = Math.Min(plan.ChunkImgs, g.N - n0), ld = imgs * p;
        var xs = new ReadOnlySpan<float>(x, g.InputSize);
        ReadOnlySpan<float> cm;
        if (plan.Direct) cm = xs.Slice(n0 * g.C * p, g.C * p);
        else { Im2Col.Pack(g, xs, n0, imgs, s.Cols, plan.Inner); cm = s.Cols; }
        var ws = new ReadOnlySpan<float>(w, g.WeightSize);
        if (plan.PerImage)
        {
            // image i's columns are [i P, (i + 1) P) of the chunk's column matrix: one GEMM per image
            // and group, written straight into y[n0 + i] (bias first, then beta = 1)
            for (int i = 0; i < imgs; i++)
            {
                var yi = new Span<float>(y + (long)(n0 + i) * o * p, o * p);
                if (bias != null) for (int oc = 0; oc < o; oc++) yi.Slice(oc * p, p).Fill(bias[oc]);
                for (int gr = 0; gr < g.Groups; gr++)
                    Gemm.Sgemm(false, false, og, p, kg, 1f, ws.Slice(gr * og * kg), kg,
                        cm.Slice(gr * kg * ld + i * p), ld, bias != null ? 1f : 0f, yi.Slice(gr * og * p), p, plan.Inner);
            }
            return;
        }
        Span<float> dst = s.Out is null ? new Span<float>(y + (long)n0 * o * p, o * p) : s.Out.AsSpan(0, o * ld);
        float beta = 0f;
        if (s.Out is null && bias != null)
        {
            for (int oc = 0; oc < o; oc++) dst.Slice(oc * p, p).Fill(bias[oc]);
            beta = 1f;
        }
        for (int gr = 0; gr < g.Groups; gr++)
            Gemm.Sgemm(false, false, og, ld, kg, 1f, ws.Slice(gr * og * kg), kg,
                cm.Slice(gr * kg * ld), ld, beta, dst.Slice(gr * og * ld), ld, plan.Inner);
        if (s.Out is null) return;
        // y[n0 + i, o, :] = out[o, i P .. (i + 1) P] + bias[o]
        for (int i = 0; i < imgs; i++)
            for (int oc = 0; oc < o; oc++)
            {
                var src = s.Out.AsSpan(oc * ld + i * p, p);
                var d = new Span<float>(y + (long)((n0 + i) * o + oc) * p, p);
                if (bias != null) AddScalar(src, bias[oc], d); else src.CopyTo(d);
            }
    }

    private static void BackwardChunk(in ConvGeometry g, in Plan plan, int chunk, bool firstInSlot,
        float* x, float* w, float* dy, float* dx /* or null */, float* dw /* or null */, Scratch s)
    {
        int p = g.OutPlane, kg = g.GroupK, og = g.OPerGroup, o = g.O;
        int n0 = chunk * plan.ChunkImgs, imgs = Math.Min(plan.ChunkImgs, g.N - n0), ld = imgs * p;
        // The chunk's output gradient as column blocks of the column matrix: image by image straight from
        // dy (per-image plans), else one block [O, ld] (dy itself for one image, or a chunk-major copy).
        int blocks = plan.PerImage ? imgs : 1, nb = plan.PerImage ? p : ld, ldY = nb;
        ReadOnlySpan<float> dyc = default;
        if (!plan.PerImage)
        {
            if (s.Out is null) dyc = new ReadOnlySpan<float>(dy + (long)n0 * o * p, o * p);
            else
            {
                // out[o, i P .. (i + 1) P] = dy[n0 + i, o, :]
                for (int i = 0; i < imgs; i++)
                    for (int oc = 0; oc < o; oc++)
                        new ReadOnlySpan<float>(dy + (long)((n0 + i) * o + oc) * p, p).CopyTo(s.Out.AsSpan(oc * ld + i * p, p));
                dyc = s.Out.AsSpan(0, o * ld);
            }
        }
        if (dw != null)
        {
            var xs = new ReadOnlySpan<float>(x, g.InputSize);
            ReadOnlySpan<float> cm;
            if (plan.Direct) cm = xs.Slice(n0 * g.C * p, g.C * p);
            else { Im2Col.Pack(g, xs, n0, imgs, s.Cols, plan.Inner); cm = s.Cols; }
            var dws = new Span<float>(dw, g.WeightSize);
            for (int b = 0; b < blocks; b++)
            {
                var blk = plan.PerImage ? new ReadOnlySpan<float>(dy + (long)(n0 + b) * o * p, o * p) : dyc;
                for (int gr = 0; gr < g.Groups; gr++)
                    Gemm.Sgemm(false, true, og, kg, nb, 1f, blk.Slice(gr * og * ldY), ldY,
                        cm.Slice(gr * kg * ld + b * nb), ld, firstInSlot && b == 0 ? 0f : 1f, dws.Slice(gr * og * kg), kg, plan.Inner);
            }
        }
        if (dx != null)
        {
            var ws = new ReadOnlySpan<float>(w, g.WeightSize);
            Span<float> dcols = plan.Direct ? new Span<float>(dx + (long)n0 * g.C * p, g.C * p) : s.Cols;
            for (int b = 0; b < blocks; b++)
            {
                var blk = plan.PerImage ? new ReadOnlySpan<float>(dy + (long)(n0 + b) * o * p, o * p) : dyc;
                for (int gr = 0; gr < g.Groups; gr++)
                    Gemm.Sgemm(true, false, kg, nb, og, 1f, ws.Slice(gr * og * kg), kg,
                        blk.Slice(gr * og * ldY), ldY, 0f, dcols.Slice(gr * kg * ld + b * nb), ld, plan.Inner);
            }
            if (!plan.Direct) Im2Col.Unpack(g, s.Cols, n0, imgs, new Span<float>(dx, g.InputSize), plan.Inner);
        }
    }

    /// <summary>d = s + v (short rows: a plain vector loop beats a library call per row).</summary>
    private static void AddScalar(ReadOnlySpan<float> s, float v, Span<float> d)
    {
        int i = 0, vw = Vector<float>.Count;
        var vv = new Vector<float>(v);
        for (; i <= s.Length - vw; i += vw) (new Vector<float>(s.Slice(i)) + vv).CopyTo(d.Slice(i));
        for (; i < s.Length; i++) d[i] = s[i] + v;
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
}

using System.Buffers;
using System.Numerics.Tensors;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// 2-D transposed convolution (ONNX ConvTranspose) through the convolution kernels it is the adjoint of
/// (<see cref="ConvTransposeGeometry.Adjoint"/>): the forward pass is the convolution's data gradient
/// (GEMM W_g^T X_g, then col2im), the input gradient is the convolution's forward pass (im2col, GEMM) and
/// the weight gradient is the convolution's weight gradient with the roles of input and output swapped.
/// <see cref="ConvTransposeReference"/> is the specification.
/// </summary>
/// <remarks>
/// When the pads do not fit the convolution's symmetric padding (asymmetric pads, output padding beyond
/// the stride), the kernels work on the full output [images, O, FullH, FullW] of a chunk of images at a time
/// (about <see cref="FullChunkElements"/> floats, at least one image) in a pooled scratch buffer and crop
/// (forward) or zero-extend (backward) it. <see cref="ConvTransposeGeometry"/> bounds one image's full output.
/// </remarks>
public static class ConvTransposeKernels
{
    /// <summary>Forward pass; <paramref name="bias"/> may be empty.</summary>
    public static void Forward(in ConvTransposeGeometry g,
        ReadOnlySpan<float> x,    // [N, C, H, W]
        ReadOnlySpan<float> w,    // [C, O/Groups, KH, KW]
        ReadOnlySpan<float> bias, // [O] or empty
        Span<float> y,            // [N, O, OH, OW]
        int threads = 0)
        => Forward(g, x, w, bias, y, threads, FullChunkElements);

    /// <summary>Forward pass with the full-output path's scratch bound <paramref name="chunkElements"/> (tests).</summary>
    internal static void Forward(in ConvTransposeGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y,
        int threads, long chunkElements)
    {
        g.Validate();
        Check(x.Length, g.InputSize, "x", g.InputShapeText);
        Check(w.Length, g.WeightSize, "w", g.WeightShapeText);
        Check(y.Length, g.OutputSize, "y", g.OutputShapeText);
        if (bias.Length != 0) Check(bias.Length, g.O, "bias", $"[{g.O}]");
        if (g.N == 0) return;
        var adj = g.Adjoint(out bool direct);
        if (direct) ConvKernels.Backward(adj, default, w, x, y, default, default, threads);
        else
        {
            int imgs = FullChunkImages(g, chunkElements), inS = g.C * g.H * g.W, outS = g.O * g.OH * g.OW;
            var buf = ArrayPool<float>.Shared.Rent(imgs * g.O * g.FullH * g.FullW);
            try
            {
                for (int n0 = 0; n0 < g.N; n0 += imgs)
                {
                    var gc = g with { N = Math.Min(imgs, g.N - n0) };
                    var ac = gc.Adjoint(out _);
                    var full = buf.AsSpan(0, ac.InputSize);
                    ConvKernels.Backward(ac, default, w, x.Slice(n0 * inS, gc.N * inS), full, default, default, threads);
                    Crop(gc, full, y.Slice(n0 * outS, gc.N * outS));
                }
            }
            finally { ArrayPool<float>.Shared.Return(buf); }
        }
        if (bias.Length != 0)
        {
            int plane = g.OH * g.OW;
            for (int n = 0; n < g.N; n++)
                for (int o = 0; o < g.O; o++)
                {
                    var row = y.Slice((n * g.O + o) * plane, plane);
                    TensorPrimitives.Add(row, bias[o], row);
                }
        }
    }

    /// <summary>
    /// Backward pass. Any of <paramref name="dx"/>, <paramref name="dw"/>, <paramref name="db"/> may be empty
    /// to skip that gradient; the others are overwritten.
    /// </summary>
    public static void Backward(in ConvTransposeGeometry g,
        ReadOnlySpan<float> x,   // [N, C, H, W] (needed for dw)
        ReadOnlySpan<float> w,   // [C, O/Groups, KH, KW] (needed for dx)
        ReadOnlySpan<float> dy,  // [N, O, OH, OW]
        Span<float> dx,          // [N, C, H, W] or empty
        Span<float> dw,          // [C, O/Groups, KH, KW] or empty
        Span<float> db,          // [O] or empty
        int threads = 0)
        => Backward(g, x, w, dy, dx, dw, db, threads, FullChunkElements);

    /// <summary>Backward pass with the full-output path's scratch bound <paramref name="chunkElements"/> (tests).</summary>
    internal static void Backward(in ConvTransposeGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dw, Span<float> db, int threads, long chunkElements)
    {
        g.Validate();
        Check(dy.Length, g.OutputSize, "dy", g.OutputShapeText);
        if (dx.Length != 0) { Check(dx.Length, g.InputSize, "dx", g.InputShapeText); Check(w.Length, g.WeightSize, "w", g.WeightShapeText); }
        if (dw.Length != 0) { Check(dw.Length, g.WeightSize, "dw", g.WeightShapeText); Check(x.Length, g.InputSize, "x", g.InputShapeText); }
        if (db.Length != 0)
        {
            Check(db.Length, g.O, "db", $"[{g.O}]");
            int plane = g.OH * g.OW;
            for (int o = 0; o < g.O; o++)
            {
                double s = 0;
                for (int n = 0; n < g.N; n++) s += TensorPrimitives.Sum(dy.Slice((n * g.O + o) * plane, plane));
                db[o] = (float)s;
            }
        }
        dw.Clear();
        if (g.N == 0 || (dx.Length == 0 && dw.Length == 0)) return;
        var adj = g.Adjoint(out bool direct);
        // adjoint: its input is the output gradient, its output has the shape of x
        if (direct)
        {
            if (dx.Length != 0) ConvKernels.Forward(adj, dy, w, default, dx, threads);
            if (dw.Length != 0) ConvKernels.Backward(adj, dy, w, x, default, dw, default, threads);
            return;
        }
        int imgs = FullChunkImages(g, chunkElements), inS = g.C * g.H * g.W, outS = g.O * g.OH * g.OW;
        var buf = ArrayPool<float>.Shared.Rent(imgs * g.O * g.FullH * g.FullW);
        float[]? part = dw.Length != 0 && imgs < g.N ? ArrayPool<float>.Shared.Rent(dw.Length) : null;
        try
        {
            for (int n0 = 0; n0 < g.N; n0 += imgs)
            {
                var gc = g with { N = Math.Min(imgs, g.N - n0) };
                var ac = gc.Adjoint(out _);
                var full = buf.AsSpan(0, ac.InputSize);
                Extend(gc, dy.Slice(n0 * outS, gc.N * outS), full);
                if (dx.Length != 0) ConvKernels.Forward(ac, full, w, default, dx.Slice(n0 * inS, gc.N * inS), threads);
                if (dw.Length == 0) continue;
                var xs = x.Slice(n0 * inS, gc.N * inS);
                if (n0 == 0) ConvKernels.Backward(ac, full, w, xs, default, dw, default, threads);
                else
                {
                    var p = part.AsSpan(0, dw.Length);
                    ConvKernels.Backward(ac, full, w, xs, default, p, default, threads);
                    TensorPrimitives.Add(dw, p, dw);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buf);
            if (part is not null) ArrayPool<float>.Shared.Return(part);
        }
    }

    /// <summary>Scratch bound of the full-output path: about 16 MiB of floats, at least one image.</summary>
    public const long FullChunkElements = 1 << 22;

    /// <summary>Images whose full outputs the full-output path holds at once.</summary>
    private static int FullChunkImages(in ConvTransposeGeometry g, long chunkElements)
        => (int)Math.Clamp(chunkElements / Math.Max(1L, (long)g.O * g.FullH * g.FullW), 1, Math.Max(1, g.N));

    /// <summary>out[n, o, i, j] = full[n, o, i + PT, j + PL], zero past the full output.</summary>
    private static void Crop(in ConvTransposeGeometry g,
        ReadOnlySpan<float> full, // [N, O, FullH, FullW]
        Span<float> outp)         // [N, O, OH, OW]
    {
        int fh = g.FullH, fw = g.FullW, oh = g.OH, ow = g.OW, cols = Math.Clamp(fw - g.PL, 0, ow);
        for (int p = 0; p < g.N * g.O; p++)
            for (int i = 0; i < oh; i++)
            {
                int r = i + g.PT;
                var orow = outp.Slice((p * oh + i) * ow, ow);
                if (r >= fh || cols == 0) { orow.Clear(); continue; }
                full.Slice((p * fh + r) * fw + g.PL, cols).CopyTo(orow);
                orow[cols..].Clear();
            }
    }

    /// <summary>full[n, o, i + PT, j + PL] = out[n, o, i, j], zero elsewhere (the adjoint of <see cref="Crop"/>).</summary>
    private static void Extend(in ConvTransposeGeometry g,
        ReadOnlySpan<float> outp, // [N, O, OH, OW]
        Span<float> full)         // [N, O, FullH, FullW]
    {
        int fh = g.FullH, fw = g.FullW, oh = g.OH, ow = g.OW, cols = Math.Clamp(fw - g.PL, 0, ow);
        full.Clear();
        for (int p = 0; p < g.N * g.O; p++)
            for (int i = 0; cols > 0 && i < oh && i + g.PT < fh; i++)
                outp.Slice((p * oh + i) * ow, cols).CopyTo(full.Slice((p * fh + i + g.PT) * fw + g.PL, cols));
    }

    private static void Check(int actual, int expected, string name, string shape)
        => ConvGeometry.CheckLength(actual, expected, name, shape, "conv_transpose");
}

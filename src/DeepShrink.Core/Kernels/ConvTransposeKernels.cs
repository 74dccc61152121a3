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
/// the stride), the kernels work on the full output [N, O, FullH, FullW] in a pooled scratch buffer and
/// crop (forward) or zero-extend (backward) it.
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
            int full = adj.InputSize;
            var buf = ArrayPool<float>.Shared.Rent(full);
            try
            {
                ConvKernels.Backward(adj, default, w, x, buf.AsSpan(0, full), default, default, threads);
                Crop(g, buf.AsSpan(0, full), y);
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
        float[]? buf = direct ? null : ArrayPool<float>.Shared.Rent(adj.InputSize);
        try
        {
            ReadOnlySpan<float> d = dy;
            if (buf is not null)
            {
                var full = buf.AsSpan(0, adj.InputSize);
                Extend(g, dy, full);
                d = full;
            }
            // adjoint: its input is d (the output gradient), its output has the shape of x
            if (dx.Length != 0) ConvKernels.Forward(adj, d, w, default, dx, threads);
            if (dw.Length != 0) ConvKernels.Backward(adj, d, w, x, default, dw, default, threads);
        }
        finally
        {
            if (buf is not null) ArrayPool<float>.Shared.Return(buf);
        }
    }

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
    {
        if (actual != expected) throw new ArgumentException($"conv_transpose: {name} has {actual} elements, expected {expected} for shape {shape}");
    }
}

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Scalar reference transposed convolution (direct scatter loops, double accumulation): the specification
/// <see cref="ConvTransposeKernels"/> is tested against. See <see cref="ConvTransposeGeometry"/>.
/// </summary>
public static class ConvTransposeReference
{
    /// <summary>
    /// Every multiply as flat indices (output yi, input xi, weight wi): y[yi] += x[xi] * w[wi], skipping
    /// taps that land outside the cropped output.
    /// </summary>
    public static IEnumerable<(int yi, int xi, int wi)> Taps(ConvTransposeGeometry g)
    {
        g.Validate();
        int cg = g.C / g.Groups, og = g.OPerGroup, oh = g.OH, ow = g.OW;
        for (int n = 0; n < g.N; n++)
            for (int c = 0; c < g.C; c++)
                for (int iy = 0; iy < g.H; iy++)
                    for (int ix = 0; ix < g.W; ix++)
                    {
                        int xi = ((n * g.C + c) * g.H + iy) * g.W + ix;
                        for (int oc = 0; oc < og; oc++)
                        {
                            int o = c / cg * og + oc;
                            for (int ky = 0; ky < g.KH; ky++)
                                for (int kx = 0; kx < g.KW; kx++)
                                {
                                    int y = iy * g.SH + ky * g.DH - g.PT, x = ix * g.SW + kx * g.DW - g.PL;
                                    if (y < 0 || y >= oh || x < 0 || x >= ow) continue;
                                    yield return (((n * g.O + o) * oh + y) * ow + x, xi, ((c * og + oc) * g.KH + ky) * g.KW + kx);
                                }
                        }
                    }
    }

    /// <summary>Reference forward; <paramref name="bias"/> may be empty.</summary>
    public static void Forward(in ConvTransposeGeometry g,
        ReadOnlySpan<float> x,    // [N, C, H, W]
        ReadOnlySpan<float> w,    // [C, O/Groups, KH, KW]
        ReadOnlySpan<float> bias, // [O] or empty
        Span<float> y)            // [N, O, OH, OW]
    {
        if (x.Length != g.InputSize || w.Length != g.WeightSize || y.Length != g.OutputSize)
            throw new ArgumentException($"conv_transpose reference: buffer sizes {x.Length}, {w.Length}, {y.Length} do not match {g.InputShapeText}, {g.WeightShapeText}, {g.OutputShapeText}");
        var acc = new double[y.Length];
        foreach (var (yi, xi, wi) in Taps(g)) acc[yi] += (double)x[xi] * w[wi];
        int plane = g.OH * g.OW;
        for (int i = 0; i < acc.Length; i++) y[i] = (float)(acc[i] + (bias.Length != 0 ? bias[i / plane % g.O] : 0.0));
    }

    /// <summary>Reference backward: overwrites each non-empty gradient.</summary>
    public static void Backward(in ConvTransposeGeometry g,
        ReadOnlySpan<float> x,   // [N, C, H, W]
        ReadOnlySpan<float> w,   // [C, O/Groups, KH, KW]
        ReadOnlySpan<float> dy,  // [N, O, OH, OW]
        Span<float> dx,          // [N, C, H, W] or empty
        Span<float> dw,          // [C, O/Groups, KH, KW] or empty
        Span<float> db)          // [O] or empty
    {
        var ax = new double[dx.Length];
        var aw = new double[dw.Length];
        foreach (var (yi, xi, wi) in Taps(g))
        {
            if (dx.Length != 0) ax[xi] += (double)dy[yi] * w[wi];
            if (dw.Length != 0) aw[wi] += (double)dy[yi] * x[xi];
        }
        for (int i = 0; i < ax.Length; i++) dx[i] = (float)ax[i];
        for (int i = 0; i < aw.Length; i++) dw[i] = (float)aw[i];
        if (db.Length != 0)
        {
            int plane = g.OH * g.OW;
            var ab = new double[g.O];
            for (int i = 0; i < dy.Length; i++) ab[i / plane % g.O] += dy[i];
            for (int o = 0; o < g.O; o++) db[o] = (float)ab[o];
        }
    }
}

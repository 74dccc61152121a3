namespace DeepShrink.Core.Kernels;

/// <summary>
/// Scalar reference convolution (direct loops, double accumulation): the specification that
/// <see cref="ConvKernels"/> is tested against. See <see cref="ConvGeometry"/> for the definition.
/// </summary>
public static class ConvReference
{
    /// <summary>
    /// Every multiply of the convolution as flat indices (output yi, input xi, weight wi):
    /// y[yi] += x[xi] * w[wi], skipping taps that fall in the zero padding.
    /// </summary>
    public static IEnumerable<(int yi, int xi, int wi)> Taps(ConvGeometry g)
    {
        g.Validate();
        int cg = g.CPerGroup, og = g.OPerGroup;
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.O; o++)
                for (int oy = 0; oy < g.OH; oy++)
                    for (int ox = 0; ox < g.OW; ox++)
                    {
                        int yi = ((n * g.O + o) * g.OH + oy) * g.OW + ox;
                        for (int ci = 0; ci < cg; ci++)
                        {
                            int c = o / og * cg + ci;
                            for (int ky = 0; ky < g.KH; ky++)
                                for (int kx = 0; kx < g.KW; kx++)
                                {
                                    int iy = oy * g.SH - g.PH + ky * g.DH, ix = ox * g.SW - g.PW + kx * g.DW;
                                    if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
                                    yield return (yi, ((n * g.C + c) * g.H + iy) * g.W + ix, ((o * cg + ci) * g.KH + ky) * g.KW + kx);
                                }
                        }
                    }
    }

    /// <summary>Reference forward; <paramref name="bias"/> may be empty.</summary>
    public static void Forward(in ConvGeometry g,
        ReadOnlySpan<float> x,    // [N, C, H, W]
        ReadOnlySpan<float> w,    // [O, C/Groups, KH, KW]
        ReadOnlySpan<float> bias, // [O] or empty
        Span<float> y)            // [N, O, OH, OW]
    {
        Check(g, x.Length, w.Length, y.Length);
        var acc = new double[y.Length];
        foreach (var (yi, xi, wi) in Taps(g)) acc[yi] += (double)x[xi] * w[wi];
        int plane = g.OutPlane;
        for (int i = 0; i < acc.Length; i++) y[i] = (float)(acc[i] + (bias.Length != 0 ? bias[i / plane % g.O] : 0.0));
    }

    /// <summary>
    /// Reference backward: dx = sum of dy times the weights that touched each input, dw = sum of dy times
    /// the inputs each weight touched, db = sum of dy per output channel (all overwritten).
    /// </summary>
    public static void Backward(in ConvGeometry g,
        ReadOnlySpan<float> x,   // [N, C, H, W]
        ReadOnlySpan<float> w,   // [O, C/Groups, KH, KW]
        ReadOnlySpan<float> dy,  // [N, O, OH, OW]
        Span<float> dx,          // [N, C, H, W]
        Span<float> dw,          // [O, C/Groups, KH, KW]
        Span<float> db)          // [O]
    {
        Check(g, x.Length, w.Length, dy.Length);
        ConvGeometry.CheckLength(dx.Length, g.InputSize, "dx", g.InputShapeText);
        ConvGeometry.CheckLength(dw.Length, g.WeightSize, "dw", g.WeightShapeText);
        ConvGeometry.CheckLength(db.Length, g.O, "db", $"[{g.O}]");
        var ax = new double[dx.Length];
        var aw = new double[dw.Length];
        var ab = new double[db.Length];
        foreach (var (yi, xi, wi) in Taps(g))
        {
            ax[xi] += (double)dy[yi] * w[wi];
            aw[wi] += (double)dy[yi] * x[xi];
        }
        for (int i = 0; i < dy.Length; i++) ab[i / g.OutPlane % g.O] += dy[i];
        for (int i = 0; i < ax.Length; i++) dx[i] = (float)ax[i];
        for (int i = 0; i < aw.Length; i++) dw[i] = (float)aw[i];
        for (int i = 0; i < ab.Length; i++) db[i] = (float)ab[i];
    }

    private static void Check(in ConvGeometry g, int xLen, int wLen, int yLen)
    {
        g.Validate();
        ConvGeometry.CheckLength(xLen, g.InputSize, "x", g.InputShapeText);
        ConvGeometry.CheckLength(wLen, g.WeightSize, "w", g.WeightShapeText);
        ConvGeometry.CheckLength(yLen, g.OutputSize, "y/dy", g.OutputShapeText);
    }
}

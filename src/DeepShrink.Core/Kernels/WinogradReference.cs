namespace DeepShrink.Core.Kernels;

/// <summary>
/// Plain F(4x4, 3x3) and F(2x2, 3x3) Winograd convolution (Lavin and Gray, CVPR 2016), tile by tile with explicit matrices: the
/// reference twin of <see cref="WinogradConv"/> (same transforms, scalar loops), itself checked against
/// <see cref="ConvReference"/>. Interpolation points 0, 1, -1, 2, -2 and infinity (F(4x4)), 0, 1, -1 and infinity (F(2x2)).
/// </summary>
public static class WinogradReference
{
    /// <summary>F(2x2, 3x3): B^T (4 x 4), G (4 x 3), A^T (2 x 4), points 0, 1, -1 and infinity.</summary>
    public static readonly double[,] BT2 = { { 1, 0, -1, 0 }, { 0, 1, 1, 0 }, { 0, -1, 1, 0 }, { 0, 1, 0, -1 } };
    /// <summary>G of F(2x2, 3x3).</summary>
    public static readonly double[,] G2 = { { 1, 0, 0 }, { 0.5, 0.5, 0.5 }, { 0.5, -0.5, 0.5 }, { 0, 0, 1 } };
    /// <summary>A^T of F(2x2, 3x3).</summary>
    public static readonly double[,] AT2 = { { 1, 1, 1, 0 }, { 0, 1, -1, -1 } };

    /// <summary>B^T, 6 x 6: input patch transform V = B^T d B.</summary>
    public static readonly double[,] BT =
    {
        { 4, 0, -5, 0, 1, 0 },
        { 0, -4, -4, 1, 1, 0 },
        { 0, 4, -4, -1, 1, 0 },
        { 0, -2, -1, 2, 1, 0 },
        { 0, 2, -1, -2, 1, 0 },
        { 0, 4, 0, -5, 0, 1 },
    };

    /// <summary>G, 6 x 3: filter transform U = G g G^T.</summary>
    public static readonly double[,] G =
    {
        { 1.0 / 4, 0, 0 },
        { -1.0 / 6, -1.0 / 6, -1.0 / 6 },
        { -1.0 / 6, 1.0 / 6, -1.0 / 6 },
        { 1.0 / 24, 1.0 / 12, 1.0 / 6 },
        { 1.0 / 24, -1.0 / 12, 1.0 / 6 },
        { 0, 0, 1 },
    };

    /// <summary>A^T, 4 x 6: output transform Y = A^T M A.</summary>
    public static readonly double[,] AT =
    {
        { 1, 1, 1, 1, 1, 0 },
        { 0, 1, -1, 2, -2, 0 },
        { 0, 1, 1, 4, 4, 0 },
        { 0, 1, -1, 8, -8, 1 },
    };

    /// <summary>
    /// Transformed filters of F(m x m, 3x3) as (m + 2)^2 matrices [O, C]:
    /// <c>u[(k a + l) O C + o C + c] = (G w[o, c] G^T)[k, l]</c> (a = m + 2), computed in double and rounded once.
    /// </summary>
    public static float[] TransformWeights(ReadOnlySpan<float> w, int o, int c, int m = 4) // w: [O, C, 3, 3]
    {
        var (_, gm, _) = Matrices(m);
        int a = m + 2;
        var u = new float[(long)a * a * o * c];
        var t = new double[a, 3];
        for (int oc = 0; oc < o * c; oc++)
        {
            var g = w.Slice(oc * 9, 9);
            for (int k = 0; k < a; k++)
                for (int x = 0; x < 3; x++)
                    t[k, x] = gm[k, 0] * g[x] + gm[k, 1] * g[3 + x] + gm[k, 2] * g[6 + x];
            for (int k = 0; k < a; k++)
                for (int l = 0; l < a; l++)
                    u[(k * a + l) * (long)o * c + oc] = (float)(t[k, 0] * gm[l, 0] + t[k, 1] * gm[l, 1] + t[k, 2] * gm[l, 2]);
        }
        return u;
    }

    /// <summary>(B^T, G, A^T) of F(m x m, 3x3), m = 4 or 2.</summary>
    public static (double[,] BT, double[,] G, double[,] AT) Matrices(int m) => m switch
    {
        4 => (BT, G, AT),
        2 => (BT2, G2, AT2),
        _ => throw new ArgumentException($"Winograd output tile must be 4 or 2, got {m}"),
    };

    /// <summary>
    /// y = conv(x, w) + bias for a 3x3, stride-1, ungrouped geometry, by 4x4 output tiles: the float-rounded transformed
    /// weights of <see cref="TransformWeights"/> (as the fast kernel uses them), everything else in double, so the
    /// fast kernel's own float rounding can be measured against it.
    /// </summary>
    public static void Forward(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y, int tile = 4)
    {
        var (bt, _, at) = Matrices(tile);
        int a = tile + 2, xis = a * a;
        if (!WinogradConv.Supports(g)) throw new ArgumentException("Winograd reference needs a 3x3, stride-1, undilated, ungrouped convolution");
        var u = TransformWeights(w, g.O, g.C, tile);
        int oc = g.O * g.C;
        var v = new double[xis * g.C];
        var d = new double[a, a];
        var m = new double[xis];
        for (int n = 0; n < g.N; n++)
            for (int ty = 0; ty < g.OH; ty += tile)
                for (int tx = 0; tx < g.OW; tx += tile)
                {
                    for (int c = 0; c < g.C; c++)
                    {
                        for (int i = 0; i < a; i++)
                            for (int j = 0; j < a; j++)
                            {
                                int iy = ty + i - g.PH, ix = tx + j - g.PW;
                                d[i, j] = iy < 0 || iy >= g.H || ix < 0 || ix >= g.W ? 0f : x[((n * g.C + c) * g.H + iy) * g.W + ix];
                            }
                        for (int k = 0; k < a; k++)
                            for (int l = 0; l < a; l++)
                            {
                                double s = 0;
                                for (int i = 0; i < a; i++)
                                    for (int j = 0; j < a; j++) s += bt[k, i] * d[i, j] * bt[l, j];
                                v[(k * a + l) * g.C + c] = s;
                            }
                    }
                    for (int o = 0; o < g.O; o++)
                    {
                        for (int xi = 0; xi < xis; xi++)
                        {
                            double s = 0;
                            for (int c = 0; c < g.C; c++) s += u[xi * oc + o * g.C + c] * v[xi * g.C + c];
                            m[xi] = s;
                        }
                        for (int i = 0; i < tile && ty + i < g.OH; i++)
                            for (int j = 0; j < tile && tx + j < g.OW; j++)
                            {
                                double s = bias.Length == 0 ? 0 : bias[o];
                                for (int k = 0; k < a; k++)
                                    for (int l = 0; l < a; l++) s += at[i, k] * m[k * a + l] * at[j, l];
                                y[((n * g.O + o) * g.OH + ty + i) * g.OW + tx + j] = (float)s;
                            }
                    }
                }
    }
}

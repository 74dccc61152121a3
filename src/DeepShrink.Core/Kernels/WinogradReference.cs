namespace DeepShrink.Core.Kernels;

/// <summary>
/// Plain F(4x4, 3x3) Winograd convolution (Lavin and Gray, CVPR 2016), tile by tile with explicit matrices: the
/// reference twin of <see cref="WinogradConv"/> (same transforms, scalar loops), itself checked against
/// <see cref="ConvReference"/>. Interpolation points 0, 1, -1, 2, -2 and infinity.
/// </summary>
public static class WinogradReference
{
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
    /// Transformed filters as 36 matrices [O, C]: <c>u[(k 6 + l) O C + o C + c] = (G w[o, c] G^T)[k, l]</c>, computed in
    /// double and rounded once.
    /// </summary>
    public static float[] TransformWeights(ReadOnlySpan<float> w, int o, int c) // w: [O, C, 3, 3]
    {
        var u = new float[36L * o * c];
        var t = new double[6, 3];
        for (int oc = 0; oc < o * c; oc++)
        {
            var g = w.Slice(oc * 9, 9);
            for (int k = 0; k < 6; k++)
                for (int x = 0; x < 3; x++)
                    t[k, x] = G[k, 0] * g[x] + G[k, 1] * g[3 + x] + G[k, 2] * g[6 + x];
            for (int k = 0; k < 6; k++)
                for (int l = 0; l < 6; l++)
                    u[(k * 6 + l) * (long)o * c + oc] = (float)(t[k, 0] * G[l, 0] + t[k, 1] * G[l, 1] + t[k, 2] * G[l, 2]);
        }
        return u;
    }

    /// <summary>
    /// y = conv(x, w) + bias for a 3x3, stride-1, ungrouped geometry, by 4x4 output tiles: the float-rounded transformed
    /// weights of <see cref="TransformWeights"/> (as the fast kernel uses them), everything else in double, so the
    /// fast kernel's own float rounding can be measured against it.
    /// </summary>
    public static void Forward(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
    {
        if (!WinogradConv.Supports(g)) throw new ArgumentException("Winograd reference needs a 3x3, stride-1, undilated, ungrouped convolution");
        var u = TransformWeights(w, g.O, g.C);
        int oc = g.O * g.C;
        var v = new double[36 * g.C];
        var d = new double[6, 6];
        var m = new double[36];
        for (int n = 0; n < g.N; n++)
            for (int ty = 0; ty < g.OH; ty += 4)
                for (int tx = 0; tx < g.OW; tx += 4)
                {
                    for (int c = 0; c < g.C; c++)
                    {
                        for (int i = 0; i < 6; i++)
                            for (int j = 0; j < 6; j++)
                            {
                                int iy = ty + i - g.PH, ix = tx + j - g.PW;
                                d[i, j] = iy < 0 || iy >= g.H || ix < 0 || ix >= g.W ? 0f : x[((n * g.C + c) * g.H + iy) * g.W + ix];
                            }
                        for (int k = 0; k < 6; k++)
                            for (int l = 0; l < 6; l++)
                            {
                                double s = 0;
                                for (int i = 0; i < 6; i++)
                                    for (int j = 0; j < 6; j++) s += BT[k, i] * d[i, j] * BT[l, j];
                                v[(k * 6 + l) * g.C + c] = s;
                            }
                    }
                    for (int o = 0; o < g.O; o++)
                    {
                        for (int xi = 0; xi < 36; xi++)
                        {
                            double s = 0;
                            for (int c = 0; c < g.C; c++) s += u[xi * oc + o * g.C + c] * v[xi * g.C + c];
                            m[xi] = s;
                        }
                        for (int i = 0; i < 4 && ty + i < g.OH; i++)
                            for (int j = 0; j < 4 && tx + j < g.OW; j++)
                            {
                                double s = bias.Length == 0 ? 0 : bias[o];
                                for (int k = 0; k < 6; k++)
                                    for (int l = 0; l < 6; l++) s += AT[i, k] * m[k * 6 + l] * AT[j, l];
                                y[((n * g.O + o) * g.OH + ty + i) * g.OW + tx + j] = (float)s;
                            }
                    }
                }
    }
}

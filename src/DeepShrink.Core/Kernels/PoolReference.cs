namespace DeepShrink.Core.Kernels;

/// <summary>
/// Scalar reference pooling: the specification <see cref="PoolKernels"/> is tested against.
/// </summary>
public static class PoolReference
{
    /// <summary>Max pooling with arg-max (index iy W + ix within the plane; first maximum in row-major
    /// window order, a NaN wins); padded positions are never chosen.</summary>
    public static void MaxForward(in PoolGeometry g,
        ReadOnlySpan<float> x,   // [N, C, H, W]
        Span<float> y,           // [N, C, OH, OW]
        Span<int> argmax)        // [N, C, OH, OW]
    {
        g.Check(x.Length, y.Length);
        int o = 0;
        for (int pl = 0; pl < g.Planes; pl++)
            for (int oy = 0; oy < g.OH; oy++)
                for (int ox = 0; ox < g.OW; ox++, o++)
                {
                    float best = float.NegativeInfinity; int arg = -1;
                    for (int ky = 0; ky < g.KH; ky++)
                        for (int kx = 0; kx < g.KW; kx++)
                        {
                            int iy = oy * g.SH - g.PH + ky, ix = ox * g.SW - g.PW + kx;
                            if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
                            float v = x[pl * g.H * g.W + iy * g.W + ix];
                            bool take = arg < 0 || v > best || (float.IsNaN(v) && !float.IsNaN(best));
                            if (take) { best = v; arg = iy * g.W + ix; }
                        }
                    y[o] = best; argmax[o] = arg;
                }
    }

    /// <summary>Max-pool backward: dx[plane, argmax] += dy.</summary>
    public static void MaxBackward(in PoolGeometry g,
        ReadOnlySpan<float> dy,    // [N, C, OH, OW]
        ReadOnlySpan<int> argmax,  // [N, C, OH, OW]
        Span<float> dx)            // [N, C, H, W]
    {
        g.Check(dx.Length, dy.Length, "dx", "dy");
        dx.Clear();
        int outPlane = g.OH * g.OW;
        for (int o = 0; o < dy.Length; o++) dx[o / outPlane * g.H * g.W + argmax[o]] += dy[o];
    }

    /// <summary>Average pooling with padding counted as zeros (divisor KH KW), or, without
    /// <paramref name="countIncludePad"/>, divided by the number of real pixels in the window.</summary>
    public static void AvgForward(in PoolGeometry g,
        ReadOnlySpan<float> x,   // [N, C, H, W]
        Span<float> y,           // [N, C, OH, OW]
        bool countIncludePad = true)
    {
        g.Check(x.Length, y.Length);
        int o = 0;
        for (int pl = 0; pl < g.Planes; pl++)
            for (int oy = 0; oy < g.OH; oy++)
                for (int ox = 0; ox < g.OW; ox++, o++)
                {
                    double s = 0;
                    int count = 0;
                    for (int ky = 0; ky < g.KH; ky++)
                        for (int kx = 0; kx < g.KW; kx++)
                        {
                            int iy = oy * g.SH - g.PH + ky, ix = ox * g.SW - g.PW + kx;
                            if (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W) { s += x[pl * g.H * g.W + iy * g.W + ix]; count++; }
                        }
                    y[o] = (float)(s / (countIncludePad ? g.KH * g.KW : count));
                }
    }

    /// <summary>Average-pool backward: each dy / divisor is added to every real pixel of its window (divisor KH KW,
    /// or without <paramref name="countIncludePad"/> the window's count of real pixels).</summary>
    public static void AvgBackward(in PoolGeometry g,
        ReadOnlySpan<float> dy,  // [N, C, OH, OW]
        Span<float> dx,          // [N, C, H, W]
        bool countIncludePad = true)
    {
        g.Check(dx.Length, dy.Length, "dx", "dy");
        var acc = new double[dx.Length];
        int o = 0;
        for (int pl = 0; pl < g.Planes; pl++)
            for (int oy = 0; oy < g.OH; oy++)
                for (int ox = 0; ox < g.OW; ox++, o++)
                {
                    int rows = Math.Min(oy * g.SH - g.PH + g.KH, g.H) - Math.Max(oy * g.SH - g.PH, 0);
                    int cols = Math.Min(ox * g.SW - g.PW + g.KW, g.W) - Math.Max(ox * g.SW - g.PW, 0);
                    double div = countIncludePad ? g.KH * g.KW : rows * cols;
                    for (int ky = 0; ky < g.KH; ky++)
                        for (int kx = 0; kx < g.KW; kx++)
                        {
                            int iy = oy * g.SH - g.PH + ky, ix = ox * g.SW - g.PW + kx;
                            if (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W) acc[pl * g.H * g.W + iy * g.W + ix] += (double)dy[o] / div;
                        }
                }
        for (int i = 0; i < acc.Length; i++) dx[i] = (float)acc[i];
    }

    /// <summary>Global average pooling: y[p] = mean of x[p, :].</summary>
    public static void GlobalAvgForward(int planes, int planeSize,
        ReadOnlySpan<float> x,   // [planes, planeSize]
        Span<float> y)           // [planes]
    {
        PoolKernels.CheckGlobal(planes, planeSize, x.Length, y.Length);
        for (int p = 0; p < planes; p++)
        {
            double s = 0;
            for (int i = 0; i < planeSize; i++) s += x[p * planeSize + i];
            y[p] = (float)(s / planeSize);
        }
    }
}

using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Max pooling of <see cref="Lanes"/> horizontally adjacent outputs at once (stride 1 or 2, window fully
/// inside the row), with the same first-maximum / NaN rule as the scalar path.
/// </summary>
internal static unsafe class PoolMaxVector
{
    /// <summary>Outputs per block.</summary>
    public const int Lanes = 8;

    /// <summary>True when blocks can be used for this horizontal stride on this machine.</summary>
    public static bool Supported(int sw) => Vector256.IsHardwareAccelerated && (sw == 1 || sw == 2);

    /// <summary>Largest first output column of a block whose loads stay inside the row (may be negative).</summary>
    public static int LastStart(int w, int kw, int sw, int pw)
    {
        // block loads read columns x0 + kx .. x0 + kx + Lanes sw - 1 with x0 = ox sw - pw, kx <= kw - 1
        int span = Lanes * sw; // floats loaded per row and kx
        int maxX0 = w - span - (kw - 1);
        return maxX0 < -pw ? -1 : (maxX0 + pw) / sw;
    }

    /// <summary>Outputs ox .. ox + Lanes - 1 of one row; <paramref name="x0"/> = ox sw - pw >= 0.</summary>
    public static void Block(float* x, int w, int ys, int ye, int x0, int kw, int sw, float* y, int* arg)
    {
        var lane = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * sw;
        var best = Load(x + ys * w + x0, sw);
        var at = Vector256.Create(ys * w + x0) + lane;
        for (int iy = ys; iy < ye; iy++)
        {
            float* row = x + iy * w;
            for (int kx = iy == ys ? 1 : 0; kx < kw; kx++)
            {
                int c = x0 + kx;
                var v = Load(row + c, sw);
                var take = Vector256.GreaterThan(v, best) | (~Vector256.Equals(v, v) & Vector256.Equals(best, best));
                best = Vector256.ConditionalSelect(take, v, best);
                at = Vector256.ConditionalSelect(take.AsInt32(), Vector256.Create(iy * w + c) + lane, at);
            }
        }
        best.Store(y);
        if (arg != null) at.Store(arg);
    }

    /// <summary>Lanes values p[0], p[sw], ..., for sw 1 or 2.</summary>
    private static Vector256<float> Load(float* p, int sw)
    {
        if (sw == 1) return Vector256.Load(p);
        var idx = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        var lo = Vector256.Shuffle(Vector256.Load(p), idx);
        var hi = Vector256.Shuffle(Vector256.Load(p + 8), idx);
        return Vector256.Create(lo.GetLower(), hi.GetLower());
    }
}

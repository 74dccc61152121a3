using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Max pooling of <see cref="Lanes"/> outputs at once (stride 1 or 2, windows fully inside the image):
/// either 8 adjacent outputs of one row, or 4 adjacent outputs of each of two rows (narrow planes).
/// Same first-maximum / NaN rule as the scalar path.
/// </summary>
internal static unsafe class PoolMaxVector
{
    /// <summary>Outputs per block.</summary>
    public const int Lanes = 8;

    /// <summary>Outputs per row in a two-row block.</summary>
    public const int HalfLanes = 4;

    /// <summary>True when blocks can be used for this horizontal stride on this machine.</summary>
    public static bool Supported(int sw) => Vector256.IsHardwareAccelerated && (sw == 1 || sw == 2);

    /// <summary>
    /// Largest first output column of a block of <paramref name="lanes"/> outputs per row whose loads stay
    /// inside the row (may be negative).
    /// </summary>
    public static int LastStart(int w, int kw, int sw, int pw, int lanes)
    {
        // loads read columns x0 + kx .. x0 + kx + (lanes - 1) sw with x0 = ox sw - pw, kx <= kw - 1
        int maxX0 = w - ((lanes - 1) * sw + 1) - (kw - 1);
        return maxX0 < -pw ? -1 : (maxX0 + pw) / sw;
    }

    /// <summary>
    /// Outputs ox .. ox + 7 of one row (<paramref name="delta"/> = 0), or ox .. ox + 3 of two rows whose windows
    /// start <paramref name="delta"/> input elements apart (results for the second row go to
    /// y + <paramref name="outDelta"/>). Window rows [ys, ye) of the first row; <paramref name="x0"/> = ox sw - pw >= 0.
    /// </summary>
    public static void Block(float* x, int w, int ys, int ye, int x0, int kw, int sw, int delta, float* y, int* arg, int outDelta)
    {
        var lane = delta == 0 ? Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * sw
            : Vector256.Create(0, 1, 2, 3, 0, 1, 2, 3) * sw + Vector256.Create(0, 0, 0, 0, 1, 1, 1, 1) * delta;
        var best = Load(x + ys * w + x0, sw, delta);
        var at = Vector256.Create(ys * w + x0) + lane;
        for (int iy = ys; iy < ye; iy++)
        {
            float* row = x + iy * w;
            for (int kx = iy == ys ? 1 : 0; kx < kw; kx++)
            {
                int c = x0 + kx;
                var v = Load(row + c, sw, delta);
                var take = Vector256.GreaterThan(v, best) | (~Vector256.Equals(v, v) & Vector256.Equals(best, best));
                best = Vector256.ConditionalSelect(take, v, best);
                at = Vector256.ConditionalSelect(take.AsInt32(), Vector256.Create(iy * w + c) + lane, at);
            }
        }
        if (delta == 0)
        {
            best.Store(y);
            if (arg != null) at.Store(arg);
            return;
        }
        best.GetLower().Store(y); best.GetUpper().Store(y + outDelta);
        if (arg != null) { at.GetLower().Store(arg); at.GetUpper().Store(arg + outDelta); }
    }

    /// <summary>p[0], p[sw], ... (8 values), or 4 values from p and 4 from p + delta; reads only those rows' needed span.</summary>
    private static Vector256<float> Load(float* p, int sw, int delta)
    {
        if (delta != 0) return Vector256.Create(Load4(p, sw), Load4(p + delta, sw));
        if (sw == 1) return Vector256.Load(p);
        var lo = Vector256.Shuffle(Vector256.Load(p), Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7));     // p0 p2 p4 p6
        var hi = Vector256.Shuffle(Vector256.Load(p + 7), Vector256.Create(1, 3, 5, 7, 0, 2, 4, 6)); // p8 p10 p12 p14
        return Vector256.Create(lo.GetLower(), hi.GetLower());
    }

    private static Vector128<float> Load4(float* p, int sw)
    {
        if (sw == 1) return Vector128.Load(p);
        var lo = Vector128.Shuffle(Vector128.Load(p), Vector128.Create(0, 2, 1, 3));     // p0 p2
        var hi = Vector128.Shuffle(Vector128.Load(p + 3), Vector128.Create(1, 3, 0, 2)); // p4 p6
        return Vector128.Create(lo.GetLower(), hi.GetLower());
    }
}

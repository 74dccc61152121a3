using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Max pooling with a 2x2 window, stride 2 and no padding (the common case) for planes at least 8 pixels
/// wide: outputs in groups of 4 along a row, two groups per <see cref="Vector256"/> step (from the same
/// row or the next ones), so narrow planes vectorise as well as wide ones. Same first-maximum / NaN rule
/// as <see cref="PoolReference"/>.
/// </summary>
/// <remarks>
/// A window's pixels in row-major order are t0 t1 (top row) b0 b1 (bottom row). The maximum is taken as
/// max(max(t0, t1), max(b0, b1)), each max keeping the earlier value unless the later one is greater or is
/// the first NaN; since every top pixel precedes every bottom pixel this picks the same pixel as the
/// row-major scan.
/// </remarks>
internal static unsafe class PoolMax2x2
{
    /// <summary>Narrowest plane the kernel takes (its groups read 8 consecutive columns).</summary>
    public const int MinWidth = 8;

    /// <summary>True when <paramref name="g"/> is 2x2, stride 2, unpadded and vectors are available here, at any width.</summary>
    public static bool Fits(in PoolGeometry g) =>
        Vector256.IsHardwareAccelerated && g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.PH == 0 && g.PW == 0;

    /// <summary>True when <see cref="Fits"/> holds and the plane is at least <see cref="MinWidth"/> wide.</summary>
    public static bool Applies(in PoolGeometry g) => Fits(g) && g.W >= MinWidth;

    /// <summary>One plane: x [H, W] -> y [OH, OW] with arg-max indices iy W + ix (arg may be null).</summary>
    public static void Plane(float* x, float* y, int* arg, int w, int oh, int ow)
    {
        // groups of 4 outputs: ox0 = 0, 4, ..., and a last one at ow - 4 when ow is not a multiple of 4
        int perRow = (ow + 3) / 4, groups = oh * perRow;
        for (int q = 0; q < groups; q += 2)
        {
            int q1 = Math.Min(q + 1, groups - 1); // an odd last group is paired with itself
            Group(q, perRow, ow, w, out int baseA, out int outA);
            Group(q1, perRow, ow, w, out int baseB, out int outB);
            var half = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
            var ta = Vector256.Shuffle(Vector256.Load(x + baseA), half);
            var tb = Vector256.Shuffle(Vector256.Load(x + baseB), half);
            var ba = Vector256.Shuffle(Vector256.Load(x + baseA + w), half);
            var bb = Vector256.Shuffle(Vector256.Load(x + baseB + w), half);
            var at = Vector256.Create(baseA, baseA + 2, baseA + 4, baseA + 6, baseB, baseB + 2, baseB + 4, baseB + 6);
            var (vt, it) = First(Vector256.Create(ta.GetLower(), tb.GetLower()), at, Vector256.Create(ta.GetUpper(), tb.GetUpper()), at + Vector256<int>.One);
            var aw = at + Vector256.Create(w);
            var (vb, ib) = First(Vector256.Create(ba.GetLower(), bb.GetLower()), aw, Vector256.Create(ba.GetUpper(), bb.GetUpper()), aw + Vector256<int>.One);
            var (v, i) = First(vt, it, vb, ib);
            v.GetLower().Store(y + outA); v.GetUpper().Store(y + outB);
            if (arg != null) { i.GetLower().Store(arg + outA); i.GetUpper().Store(arg + outB); }
        }
    }

    /// <summary>Input offset of group <paramref name="q"/>'s first window and its first output.</summary>
    private static void Group(int q, int perRow, int ow, int w, out int inOffset, out int outOffset)
    {
        int oy = q / perRow, ox = Math.Min((q - oy * perRow) * 4, ow - 4);
        inOffset = 2 * oy * w + 2 * ox;
        outOffset = oy * ow + ox;
    }

    /// <summary>Per lane: b when b &gt; a or b is the first NaN, else a (a is earlier in window order).</summary>
    private static (Vector256<float>, Vector256<int>) First(Vector256<float> a, Vector256<int> ia, Vector256<float> b, Vector256<int> ib)
    {
        var take = Vector256.GreaterThan(b, a) | (~Vector256.Equals(b, b) & Vector256.Equals(a, a));
        return (Vector256.ConditionalSelect(take, b, a), Vector256.ConditionalSelect(take.AsInt32(), ib, ia));
    }
}

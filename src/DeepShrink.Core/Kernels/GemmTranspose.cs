using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Out-of-place block transpose used by the packing routines: 8 x 8 tiles in AVX registers
/// (unpack, shuffle, 128-bit permute), then 4 x 4 tiles in SSE registers, then scalar edges.
/// </summary>
internal static unsafe class GemmTranspose
{
    /// <summary>
    /// dst[q * dstStride + r] = src[r * srcStride + q] for r &lt; rows, q &lt; cols.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* src, nint srcStride, int rows, int cols, float* dst, nint dstStride) // src: [rows, cols]; dst: [cols, rows]
    {
        int r = 0;
        if (Avx.IsSupported)
        {
            for (; r + 8 <= rows; r += 8)
            {
                int q = 0;
                for (; q + 8 <= cols; q += 8) Tile8(src + r * srcStride + q, srcStride, dst + q * dstStride + r, dstStride);
                Scalar(src + r * srcStride + q, srcStride, 8, cols - q, dst + q * dstStride + r, dstStride);
            }
        }
        if (Sse.IsSupported)
        {
            for (; r + 4 <= rows; r += 4)
            {
                int q = 0;
                for (; q + 4 <= cols; q += 4) Tile4(src + r * srcStride + q, srcStride, dst + q * dstStride + r, dstStride);
                Scalar(src + r * srcStride + q, srcStride, 4, cols - q, dst + q * dstStride + r, dstStride);
            }
        }
        Scalar(src + r * srcStride, srcStride, rows - r, cols, dst + r, dstStride);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scalar(float* src, nint srcStride, int rows, int cols, float* dst, nint dstStride)
    {
        for (int q = 0; q < cols; q++)
            for (int r = 0; r < rows; r++) dst[q * dstStride + r] = src[r * srcStride + q];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile8(float* s, nint ss, float* d, nint ds)
    {
        // Rows a..h; t = pairwise interleave, u = 4-row columns per 128-bit lane, then join lanes.
        var t0 = Avx.UnpackLow(Avx.LoadVector256(s), Avx.LoadVector256(s + ss));           // a0 b0 a1 b1 | a4 b4 a5 b5
        var t1 = Avx.UnpackHigh(Avx.LoadVector256(s), Avx.LoadVector256(s + ss));          // a2 b2 a3 b3 | a6 b6 a7 b7
        var t2 = Avx.UnpackLow(Avx.LoadVector256(s + 2 * ss), Avx.LoadVector256(s + 3 * ss));
        var t3 = Avx.UnpackHigh(Avx.LoadVector256(s + 2 * ss), Avx.LoadVector256(s + 3 * ss));
        var t4 = Avx.UnpackLow(Avx.LoadVector256(s + 4 * ss), Avx.LoadVector256(s + 5 * ss));
        var t5 = Avx.UnpackHigh(Avx.LoadVector256(s + 4 * ss), Avx.LoadVector256(s + 5 * ss));
        var t6 = Avx.UnpackLow(Avx.LoadVector256(s + 6 * ss), Avx.LoadVector256(s + 7 * ss));
        var t7 = Avx.UnpackHigh(Avx.LoadVector256(s + 6 * ss), Avx.LoadVector256(s + 7 * ss));
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);            // a0 b0 c0 d0 | a4.. ; a1.. | a5..
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + ds, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * ds, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + 3 * ds, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * ds, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + 5 * ds, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * ds, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + 7 * ds, Avx.Permute2x128(u3, u7, 0x31));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4(float* s, nint ss, float* d, nint ds)
    {
        Vector128<float> r0 = Sse.LoadVector128(s), r1 = Sse.LoadVector128(s + ss);
        Vector128<float> r2 = Sse.LoadVector128(s + 2 * ss), r3 = Sse.LoadVector128(s + 3 * ss);
        var t0 = Sse.UnpackLow(r0, r1);  // a0 b0 a1 b1
        var t1 = Sse.UnpackLow(r2, r3);  // c0 d0 c1 d1
        var t2 = Sse.UnpackHigh(r0, r1); // a2 b2 a3 b3
        var t3 = Sse.UnpackHigh(r2, r3); // c2 d2 c3 d3
        Sse.Store(d, Sse.MoveLowToHigh(t0, t1));
        Sse.Store(d + ds, Sse.MoveHighToLow(t1, t0));
        Sse.Store(d + 2 * ds, Sse.MoveLowToHigh(t2, t3));
        Sse.Store(d + 3 * ds, Sse.MoveHighToLow(t3, t2));
    }
}

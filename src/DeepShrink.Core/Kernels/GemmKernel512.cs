using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// AVX-512 micro-kernel: an 8 x 32 tile in 16 zmm accumulators; per k step two 16-float B loads,
/// eight broadcasts of A and 16 FMAs (measured as fast as 12 x 32 on large products, and with less
/// row padding for batch sizes such as 64).
/// </summary>
internal unsafe struct GemmKernel512 : IGemmKernel
{
    public static int MR => 8;
    public static int NR => 32;

    /// <summary>Computes one 8x32 tile: C = alpha * (A sliver x B sliver) + beta * C (beta == 0 ignores C).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta)
    {
        Vector512<float> c0_0 = default, c0_1 = default;
        Vector512<float> c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default;
        Vector512<float> c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default;
        Vector512<float> c5_0 = default, c5_1 = default;
        Vector512<float> c6_0 = default, c6_1 = default;
        Vector512<float> c7_0 = default, c7_1 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 16);
            var a0 = Vector512.Create(a[0]); c0_0 = Vector512.FusedMultiplyAdd(a0, b0, c0_0); c0_1 = Vector512.FusedMultiplyAdd(a0, b1, c0_1);
            var a1 = Vector512.Create(a[1]); c1_0 = Vector512.FusedMultiplyAdd(a1, b0, c1_0); c1_1 = Vector512.FusedMultiplyAdd(a1, b1, c1_1);
            var a2 = Vector512.Create(a[2]); c2_0 = Vector512.FusedMultiplyAdd(a2, b0, c2_0); c2_1 = Vector512.FusedMultiplyAdd(a2, b1, c2_1);
            var a3 = Vector512.Create(a[3]); c3_0 = Vector512.FusedMultiplyAdd(a3, b0, c3_0); c3_1 = Vector512.FusedMultiplyAdd(a3, b1, c3_1);
            var a4 = Vector512.Create(a[4]); c4_0 = Vector512.FusedMultiplyAdd(a4, b0, c4_0); c4_1 = Vector512.FusedMultiplyAdd(a4, b1, c4_1);
            var a5 = Vector512.Create(a[5]); c5_0 = Vector512.FusedMultiplyAdd(a5, b0, c5_0); c5_1 = Vector512.FusedMultiplyAdd(a5, b1, c5_1);
            var a6 = Vector512.Create(a[6]); c6_0 = Vector512.FusedMultiplyAdd(a6, b0, c6_0); c6_1 = Vector512.FusedMultiplyAdd(a6, b1, c6_1);
            var a7 = Vector512.Create(a[7]); c7_0 = Vector512.FusedMultiplyAdd(a7, b0, c7_0); c7_1 = Vector512.FusedMultiplyAdd(a7, b1, c7_1);
            a += 8; b += ldb;
        }
        var va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            (c0_0 * va).Store(c + 0 * ldc); (c0_1 * va).Store(c + 0 * ldc + 16);
            (c1_0 * va).Store(c + 1 * ldc); (c1_1 * va).Store(c + 1 * ldc + 16);
            (c2_0 * va).Store(c + 2 * ldc); (c2_1 * va).Store(c + 2 * ldc + 16);
            (c3_0 * va).Store(c + 3 * ldc); (c3_1 * va).Store(c + 3 * ldc + 16);
            (c4_0 * va).Store(c + 4 * ldc); (c4_1 * va).Store(c + 4 * ldc + 16);
            (c5_0 * va).Store(c + 5 * ldc); (c5_1 * va).Store(c + 5 * ldc + 16);
            (c6_0 * va).Store(c + 6 * ldc); (c6_1 * va).Store(c + 6 * ldc + 16);
            (c7_0 * va).Store(c + 7 * ldc); (c7_1 * va).Store(c + 7 * ldc + 16);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Update(c + 0 * ldc, c0_0, c0_1, va, vb);
            Update(c + 1 * ldc, c1_0, c1_1, va, vb);
            Update(c + 2 * ldc, c2_0, c2_1, va, vb);
            Update(c + 3 * ldc, c3_0, c3_1, va, vb);
            Update(c + 4 * ldc, c4_0, c4_1, va, vb);
            Update(c + 5 * ldc, c5_0, c5_1, va, vb);
            Update(c + 6 * ldc, c6_0, c6_1, va, vb);
            Update(c + 7 * ldc, c7_0, c7_1, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* c, Vector512<float> x0, Vector512<float> x1, Vector512<float> va, Vector512<float> vb)
    {
        Vector512.FusedMultiplyAdd(Vector512.Load(c), vb, x0 * va).Store(c);
        Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, x1 * va).Store(c + 16);
    }
}

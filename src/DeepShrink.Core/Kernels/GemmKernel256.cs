using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// AVX2 + FMA micro-kernel: a 6 x 16 tile held in 12 ymm accumulators (fits the 16 ymm registers
/// available without AVX-512); per k step two 8-float B loads, six broadcasts and 12 FMAs.
/// </summary>
internal unsafe struct GemmKernel256 : IGemmKernel
{
    public static int MR => 6;
    public static int NR => 16;

    /// <summary>Computes one 6x16 tile: C = alpha * (A sliver x B sliver) + beta * C (beta == 0 ignores C).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta)
    {
        Vector256<float> c0_0 = default, c0_1 = default;
        Vector256<float> c1_0 = default, c1_1 = default;
        Vector256<float> c2_0 = default, c2_1 = default;
        Vector256<float> c3_0 = default, c3_1 = default;
        Vector256<float> c4_0 = default, c4_1 = default;
        Vector256<float> c5_0 = default, c5_1 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8);
            var a0 = Vector256.Create(a[0]); c0_0 = Vector256.FusedMultiplyAdd(a0, b0, c0_0); c0_1 = Vector256.FusedMultiplyAdd(a0, b1, c0_1);
            var a1 = Vector256.Create(a[1]); c1_0 = Vector256.FusedMultiplyAdd(a1, b0, c1_0); c1_1 = Vector256.FusedMultiplyAdd(a1, b1, c1_1);
            var a2 = Vector256.Create(a[2]); c2_0 = Vector256.FusedMultiplyAdd(a2, b0, c2_0); c2_1 = Vector256.FusedMultiplyAdd(a2, b1, c2_1);
            var a3 = Vector256.Create(a[3]); c3_0 = Vector256.FusedMultiplyAdd(a3, b0, c3_0); c3_1 = Vector256.FusedMultiplyAdd(a3, b1, c3_1);
            var a4 = Vector256.Create(a[4]); c4_0 = Vector256.FusedMultiplyAdd(a4, b0, c4_0); c4_1 = Vector256.FusedMultiplyAdd(a4, b1, c4_1);
            var a5 = Vector256.Create(a[5]); c5_0 = Vector256.FusedMultiplyAdd(a5, b0, c5_0); c5_1 = Vector256.FusedMultiplyAdd(a5, b1, c5_1);
            a += 6; b += ldb;
        }
        var va = Vector256.Create(alpha);
        if (beta == 0f)
        {
            (c0_0 * va).Store(c + 0 * ldc); (c0_1 * va).Store(c + 0 * ldc + 8);
            (c1_0 * va).Store(c + 1 * ldc); (c1_1 * va).Store(c + 1 * ldc + 8);
            (c2_0 * va).Store(c + 2 * ldc); (c2_1 * va).Store(c + 2 * ldc + 8);
            (c3_0 * va).Store(c + 3 * ldc); (c3_1 * va).Store(c + 3 * ldc + 8);
            (c4_0 * va).Store(c + 4 * ldc); (c4_1 * va).Store(c + 4 * ldc + 8);
            (c5_0 * va).Store(c + 5 * ldc); (c5_1 * va).Store(c + 5 * ldc + 8);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Update(c + 0 * ldc, c0_0, c0_1, va, vb);
            Update(c + 1 * ldc, c1_0, c1_1, va, vb);
            Update(c + 2 * ldc, c2_0, c2_1, va, vb);
            Update(c + 3 * ldc, c3_0, c3_1, va, vb);
            Update(c + 4 * ldc, c4_0, c4_1, va, vb);
            Update(c + 5 * ldc, c5_0, c5_1, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* c, Vector256<float> x0, Vector256<float> x1, Vector256<float> va, Vector256<float> vb)
    {
        Vector256.FusedMultiplyAdd(Vector256.Load(c), vb, x0 * va).Store(c);
        Vector256.FusedMultiplyAdd(Vector256.Load(c + 8), vb, x1 * va).Store(c + 8);
    }
}

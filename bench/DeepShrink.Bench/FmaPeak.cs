using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Bench;

/// <summary>
/// Measured floating-point peak: a loop of fused multiply-adds on 12 independent vector
/// accumulators (enough to cover FMA latency x pipes on current x86 cores), on the widest vector
/// the SGEMM itself uses. Kernel efficiency is reported relative to this number, measured in the
/// same process (DESIGN.md benchmark protocol).
/// </summary>
public static class FmaPeak
{
    private const int Accumulators = 12;

    /// <summary>Flops per loop iteration at <paramref name="level"/> (2 per FMA lane).</summary>
    public static int FlopsPerIteration(SimdLevel level) => Accumulators * 2 * level switch
    {
        SimdLevel.Vector512 => 16,
        SimdLevel.Vector256Fma => 8,
        _ => 1,
    };

    /// <summary>
    /// Measures peak GFLOP/s on <paramref name="threads"/> threads running the FMA loop concurrently
    /// (<paramref name="iterations"/> loop iterations per thread per call).
    /// </summary>
    public static (double Gflops, BenchStats Stats) Measure(int threads, long iterations = 1L << 21, int repeats = 7)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), "at least one thread");
        var level = Gemm.Isa;
        float sink = 0;
        Action once = threads == 1
            ? () => sink += Loop(level, iterations)
            : () => Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => Loop(level, iterations));
        var stats = BenchStats.Measure(once, repeats);
        GC.KeepAlive(sink);
        return (stats.Gflops((double)threads * iterations * FlopsPerIteration(level)), stats);
    }

    private static float Loop(SimdLevel level, long iterations) => level switch
    {
        SimdLevel.Vector512 => Loop512(iterations),
        SimdLevel.Vector256Fma => Loop256(iterations),
        _ => LoopScalar(iterations),
    };

    // acc <- acc * x + y converges to y / (1 - x) = 1: no overflow, no denormals.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Loop512(long iterations)
    {
        var x = Vector512.Create(0.999f); var y = Vector512.Create(0.001f);
        Vector512<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, x, y); a1 = Vector512.FusedMultiplyAdd(a1, x, y);
            a2 = Vector512.FusedMultiplyAdd(a2, x, y); a3 = Vector512.FusedMultiplyAdd(a3, x, y);
            a4 = Vector512.FusedMultiplyAdd(a4, x, y); a5 = Vector512.FusedMultiplyAdd(a5, x, y);
            a6 = Vector512.FusedMultiplyAdd(a6, x, y); a7 = Vector512.FusedMultiplyAdd(a7, x, y);
            a8 = Vector512.FusedMultiplyAdd(a8, x, y); a9 = Vector512.FusedMultiplyAdd(a9, x, y);
            a10 = Vector512.FusedMultiplyAdd(a10, x, y); a11 = Vector512.FusedMultiplyAdd(a11, x, y);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Loop256(long iterations)
    {
        var x = Vector256.Create(0.999f); var y = Vector256.Create(0.001f);
        Vector256<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, x, y); a1 = Vector256.FusedMultiplyAdd(a1, x, y);
            a2 = Vector256.FusedMultiplyAdd(a2, x, y); a3 = Vector256.FusedMultiplyAdd(a3, x, y);
            a4 = Vector256.FusedMultiplyAdd(a4, x, y); a5 = Vector256.FusedMultiplyAdd(a5, x, y);
            a6 = Vector256.FusedMultiplyAdd(a6, x, y); a7 = Vector256.FusedMultiplyAdd(a7, x, y);
            a8 = Vector256.FusedMultiplyAdd(a8, x, y); a9 = Vector256.FusedMultiplyAdd(a9, x, y);
            a10 = Vector256.FusedMultiplyAdd(a10, x, y); a11 = Vector256.FusedMultiplyAdd(a11, x, y);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float LoopScalar(long iterations)
    {
        float x = 0.999f, y = 0.001f;
        float a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (long i = 0; i < iterations; i++)
        {
            a0 = a0 * x + y; a1 = a1 * x + y; a2 = a2 * x + y; a3 = a3 * x + y; a4 = a4 * x + y; a5 = a5 * x + y;
            a6 = a6 * x + y; a7 = a7 * x + y; a8 = a8 * x + y; a9 = a9 * x + y; a10 = a10 * x + y; a11 = a11 * x + y;
        }
        return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    }
}

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
    /// (<paramref name="iterations"/> loop iterations per thread per call); one thread is timed on
    /// <paramref name="singleThreadClock"/>, several on wall time.
    /// </summary>
    public static (double Gflops, BenchStats Stats) Measure(int threads, long iterations = 1L << 21, int repeats = 7,
        BenchClock singleThreadClock = BenchClock.Wall)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), "at least one thread");
        var level = Gemm.Isa;
        float sink = 0;
        Action once = threads == 1
            ? () => sink += RunLoop(level, iterations)
            : () => Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => RunLoop(level, iterations));
        var stats = BenchStats.Measure(once, repeats, clock: threads == 1 ? singleThreadClock : BenchClock.Wall);
        GC.KeepAlive(sink);
        return (stats.Gflops((double)threads * iterations * FlopsPerIteration(level)), stats);
    }

    private static float RunLoop(SimdLevel level, long iterations) => level switch
    {
        SimdLevel.Vector512 => Loop<V512, Vector512<float>>(iterations),
        SimdLevel.Vector256Fma => Loop<V256, Vector256<float>>(iterations),
        _ => Loop<Scalar, float>(iterations),
    };

    /// <summary>The few vector operations the loop needs, so one generic loop serves every width.</summary>
    private interface IFmaOps<T>
    {
        static abstract T Splat(float x);
        static abstract T MultiplyAdd(T a, T b, T c);
        static abstract float Sum(T a);
    }

    private readonly struct V512 : IFmaOps<Vector512<float>>
    {
        public static Vector512<float> Splat(float x) => Vector512.Create(x);
        public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
        public static float Sum(Vector512<float> a) => Vector512.Sum(a);
    }

    private readonly struct V256 : IFmaOps<Vector256<float>>
    {
        public static Vector256<float> Splat(float x) => Vector256.Create(x);
        public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
        public static float Sum(Vector256<float> a) => Vector256.Sum(a);
    }

    private readonly struct Scalar : IFmaOps<float>
    {
        public static float Splat(float x) => x;
        public static float MultiplyAdd(float a, float b, float c) => a * b + c; // counted as 2 flops, like an FMA
        public static float Sum(float a) => a;
    }

    // acc <- acc * x + y converges to y / (1 - x) = 1: no overflow, no denormals.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Loop<TOps, T>(long iterations) where TOps : struct, IFmaOps<T>
    {
        T x = TOps.Splat(0.999f), y = TOps.Splat(0.001f);
        T a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (long i = 0; i < iterations; i++)
        {
            a0 = TOps.MultiplyAdd(a0, x, y); a1 = TOps.MultiplyAdd(a1, x, y);
            a2 = TOps.MultiplyAdd(a2, x, y); a3 = TOps.MultiplyAdd(a3, x, y);
            a4 = TOps.MultiplyAdd(a4, x, y); a5 = TOps.MultiplyAdd(a5, x, y);
            a6 = TOps.MultiplyAdd(a6, x, y); a7 = TOps.MultiplyAdd(a7, x, y);
            a8 = TOps.MultiplyAdd(a8, x, y); a9 = TOps.MultiplyAdd(a9, x, y);
            a10 = TOps.MultiplyAdd(a10, x, y); a11 = TOps.MultiplyAdd(a11, x, y);
        }
        return TOps.Sum(a0) + TOps.Sum(a1) + TOps.Sum(a2) + TOps.Sum(a3) + TOps.Sum(a4) + TOps.Sum(a5)
            + TOps.Sum(a6) + TOps.Sum(a7) + TOps.Sum(a8) + TOps.Sum(a9) + TOps.Sum(a10) + TOps.Sum(a11);
    }
}

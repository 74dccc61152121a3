using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DeepShrink.Core;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Bench;

/// <summary>
/// Single-thread throughput of the int8 and XNOR GEMMs against the fp32 SGEMM and the FMA peak, all
/// measured in one process (DESIGN.md benchmark protocol: ratios, medians of repeated runs after warm-up).
/// </summary>
public static class QuantKernelBenchmarks
{
    /// <summary>
    /// Runs the benchmarks at m = n = k = <paramref name="size"/> and returns metric name -> value:
    /// <c>int8_gemm_{size}_gops_1t</c>, <c>fp32_gemm_{size}_gflops_1t</c>, <c>int8_vs_fp32_gemm_1t</c>,
    /// <c>xnor_gemm_{size}_gops_1t</c> (logical ops 2 m n k), <c>xnor_vs_fp32_gemm_1t</c>,
    /// <c>fma_peak_gflops_1t</c>, the projections <c>int8_vs_fp32_at_80pct_peak_1t</c> and
    /// <c>xnor_vs_fp32_at_80pct_peak_1t</c> (against an fp32 GEMM at 80% of the FMA peak), and for each
    /// rate a <c>..._spread_pct</c> = 100 (max - min) / median over the repeats.
    /// </summary>
    /// <remarks>
    /// The kernels are timed round-robin (one sample of each per repeat) so that all of them see the same
    /// machine load; a sample repeats the kernel for at least <see cref="MinSampleSeconds"/> of thread CPU
    /// time, and each rate is the median over <paramref name="repeats"/> samples after two warm-up runs.
    /// </remarks>
    public static Dictionary<string, double> Run(int size = 1024, int repeats = 7)
    {
        if (size < 16) throw new ArgumentOutOfRangeException(nameof(size), "size must be >= 16");
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats));
        int m = size, n = size, k = size;
        double ops = 2.0 * m * n * k;
        var rng = new Rng(20240607);

        var a8 = new byte[m * k];
        var w8 = new sbyte[n * k];
        for (int i = 0; i < a8.Length; i++) a8[i] = (byte)rng.NextInt(256);
        for (int i = 0; i < w8.Length; i++) w8[i] = (sbyte)(rng.NextInt(256) - 128);
        var packed8 = Int8PackedWeights.Pack(n, k, w8, k);
        var c32 = new int[m * n];

        var af = Tensor.Uniform(rng, -1f, 1f, m, k).ToArray();
        var wf = Tensor.Uniform(rng, -1f, 1f, n, k).ToArray();
        var cf = new float[m * n];

        int words = BinaryPack.WordsFor(k);
        var abits = new ulong[m * words];
        BinaryPack.PackRows(m, k, af, k, abits);
        var packedBits = XnorPackedWeights.FromSigns(n, k, wf);

        const int fmaIterations = 5_000_000;
        double fmaFlops = (Avx512F.IsSupported ? 12 * 16 * 2 : Fma.IsSupported ? 12 * 8 * 2 : 12 * 2) * (double)fmaIterations;
        var kernels = new (string Key, double Work, Action Run)[]
        {
            ($"int8_gemm_{size}_gops_1t", ops, () => Int8Gemm.Multiply(m, a8, k, packed8, c32, n, threads: 1)),
            ($"fp32_gemm_{size}_gflops_1t", ops, () => Gemm.Sgemm(false, true, m, n, k, 1f, af, k, wf, k, 0f, cf, n, threads: 1)),
            ($"xnor_gemm_{size}_gops_1t", ops, () => XnorGemm.Multiply(m, abits, words, packedBits, c32, n, threads: 1)),
            ("fma_peak_gflops_1t", fmaFlops, () => Sink(FmaLoop(fmaIterations))),
        };
        // One-thread kernels run on this thread, so thread CPU time excludes pre-emption by other work;
        // each sample repeats a kernel until it spans >= MinSampleSeconds (one 1024^3 XNOR GEMM is ~1 ms,
        // too short for a single reading to be stable).
        var rates = new double[kernels.Length][];
        var runs = new int[kernels.Length];
        for (int t = 0; t < kernels.Length; t++)
        {
            kernels[t].Run();
            double w0 = BenchClocks.Now(BenchClock.ThreadCpu);
            kernels[t].Run();
            double once = Math.Max(1e-6, BenchClocks.Now(BenchClock.ThreadCpu) - w0);
            runs[t] = Math.Max(1, (int)Math.Ceiling(MinSampleSeconds / once));
            rates[t] = new double[repeats];
        }
        for (int r = 0; r < repeats; r++)
            for (int t = 0; t < kernels.Length; t++)
            {
                double t0 = BenchClocks.Now(BenchClock.ThreadCpu);
                for (int i = 0; i < runs[t]; i++) kernels[t].Run();
                rates[t][r] = runs[t] * kernels[t].Work / (BenchClocks.Now(BenchClock.ThreadCpu) - t0) / 1e9;
            }

        var result = new Dictionary<string, double>();
        for (int t = 0; t < kernels.Length; t++)
        {
            Array.Sort(rates[t]);
            double median = rates[t][repeats / 2];
            result[kernels[t].Key] = median;
            result[kernels[t].Key + "_spread_pct"] = 100 * (rates[t][^1] - rates[t][0]) / median;
        }
        double int8Gops = result[kernels[0].Key], fp32Gflops = result[kernels[1].Key], xnorGops = result[kernels[2].Key];
        double peak = result["fma_peak_gflops_1t"];
        result["int8_vs_fp32_gemm_1t"] = int8Gops / fp32Gflops;
        result["xnor_vs_fp32_gemm_1t"] = xnorGops / fp32Gflops;
        result["int8_vs_fp32_at_80pct_peak_1t"] = int8Gops / (0.8 * peak);
        result["xnor_vs_fp32_at_80pct_peak_1t"] = xnorGops / (0.8 * peak);
        return result;
    }

    /// <summary>Shortest timed sample (seconds of thread CPU time).</summary>
    public const double MinSampleSeconds = 0.05;

    /// <summary>Names of the ISA paths the measured kernels ran on.</summary>
    public static string Paths => $"int8={Int8Gemm.PathName} xnor={XnorGemm.PathName}";

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Sink(float value) => GC.KeepAlive(value);

    /// <summary>FMA peak loop: 12 independent accumulator chains of the widest FMA vector.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float FmaLoop(int iterations)
    {
        if (Avx512F.IsSupported)
        {
            var x = Vector512.Create(0.999f); var y = Vector512.Create(1e-3f);
            Vector512<float> a0 = x, a1 = y, a2 = x, a3 = y, a4 = x, a5 = y, a6 = x, a7 = y, a8 = x, a9 = y, a10 = x, a11 = y;
            for (int i = 0; i < iterations; i++)
            {
                a0 = Avx512F.FusedMultiplyAdd(a0, x, y); a1 = Avx512F.FusedMultiplyAdd(a1, x, y); a2 = Avx512F.FusedMultiplyAdd(a2, x, y);
                a3 = Avx512F.FusedMultiplyAdd(a3, x, y); a4 = Avx512F.FusedMultiplyAdd(a4, x, y); a5 = Avx512F.FusedMultiplyAdd(a5, x, y);
                a6 = Avx512F.FusedMultiplyAdd(a6, x, y); a7 = Avx512F.FusedMultiplyAdd(a7, x, y); a8 = Avx512F.FusedMultiplyAdd(a8, x, y);
                a9 = Avx512F.FusedMultiplyAdd(a9, x, y); a10 = Avx512F.FusedMultiplyAdd(a10, x, y); a11 = Avx512F.FusedMultiplyAdd(a11, x, y);
            }
            return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
        }
        if (Fma.IsSupported)
        {
            var x = Vector256.Create(0.999f); var y = Vector256.Create(1e-3f);
            Vector256<float> a0 = x, a1 = y, a2 = x, a3 = y, a4 = x, a5 = y, a6 = x, a7 = y, a8 = x, a9 = y, a10 = x, a11 = y;
            for (int i = 0; i < iterations; i++)
            {
                a0 = Fma.MultiplyAdd(a0, x, y); a1 = Fma.MultiplyAdd(a1, x, y); a2 = Fma.MultiplyAdd(a2, x, y);
                a3 = Fma.MultiplyAdd(a3, x, y); a4 = Fma.MultiplyAdd(a4, x, y); a5 = Fma.MultiplyAdd(a5, x, y);
                a6 = Fma.MultiplyAdd(a6, x, y); a7 = Fma.MultiplyAdd(a7, x, y); a8 = Fma.MultiplyAdd(a8, x, y);
                a9 = Fma.MultiplyAdd(a9, x, y); a10 = Fma.MultiplyAdd(a10, x, y); a11 = Fma.MultiplyAdd(a11, x, y);
            }
            return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
        }
        float s0 = 1, s1 = 2, s2 = 3, s3 = 4, s4 = 5, s5 = 6, s6 = 7, s7 = 8, s8 = 9, s9 = 10, s10 = 11, s11 = 12;
        for (int i = 0; i < iterations; i++)
        {
            s0 = MathF.FusedMultiplyAdd(s0, 0.999f, 1e-3f); s1 = MathF.FusedMultiplyAdd(s1, 0.999f, 1e-3f); s2 = MathF.FusedMultiplyAdd(s2, 0.999f, 1e-3f);
            s3 = MathF.FusedMultiplyAdd(s3, 0.999f, 1e-3f); s4 = MathF.FusedMultiplyAdd(s4, 0.999f, 1e-3f); s5 = MathF.FusedMultiplyAdd(s5, 0.999f, 1e-3f);
            s6 = MathF.FusedMultiplyAdd(s6, 0.999f, 1e-3f); s7 = MathF.FusedMultiplyAdd(s7, 0.999f, 1e-3f); s8 = MathF.FusedMultiplyAdd(s8, 0.999f, 1e-3f);
            s9 = MathF.FusedMultiplyAdd(s9, 0.999f, 1e-3f); s10 = MathF.FusedMultiplyAdd(s10, 0.999f, 1e-3f); s11 = MathF.FusedMultiplyAdd(s11, 0.999f, 1e-3f);
        }
        return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7 + s8 + s9 + s10 + s11;
    }
}

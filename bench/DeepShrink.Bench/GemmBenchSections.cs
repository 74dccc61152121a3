namespace DeepShrink.Bench;

/// <summary>FMA peak on one thread and on all benchmark threads.</summary>
internal sealed class FmaPeakSection : IKernelBenchSection
{
    public string Name => "fma peak";

    public void Run(KernelBenchContext ctx)
    {
        var (g1, s1) = FmaPeak.Measure(1, repeats: ctx.Options.Repeats, singleThreadClock: ctx.Options.SingleThreadClock);
        ctx.Set("fma_peak_gflops_1t", Math.Round(g1, 2));
        ctx.Set("fma_peak_gflops_1t_spread", Math.Round(s1.Spread, 3));
        ctx.Set("fma_peak_gflops_1t_best", Math.Round(g1 * s1.Median / s1.Min, 2));
        var (gm, sm) = FmaPeak.Measure(ctx.Options.Threads, repeats: ctx.Options.Repeats);
        ctx.Set("fma_peak_gflops_mt", Math.Round(gm, 2));
        ctx.Set("fma_peak_gflops_mt_spread", Math.Round(sm.Spread, 3));
    }
}

/// <summary>Square 1024 SGEMM on one thread and on all threads, with the fraction of the FMA peak.</summary>
internal sealed class Sgemm1024Section : IKernelBenchSection
{
    public static readonly GemmShape Shape = new("sgemm_1024", false, false, 1024, 1024, 1024);

    public string Name => "sgemm 1024";

    public void Run(KernelBenchContext ctx)
    {
        var ops = new GemmOperands(Shape);
        var s1 = ctx.Measure(() => ops.RunOurs(1), singleThread: true);
        double g1 = ctx.SetGflops("sgemm_1024_gflops_1t", Shape.Flops, s1);
        if (ctx.TryGet("fma_peak_gflops_1t", out double p1)) ctx.SetRatio("sgemm_1024_peak_fraction_1t", g1, p1);
        // Best repeat over best peak repeat: what the kernel reaches when neighbours leave the caches alone.
        double best = Shape.Flops / s1.Min * 1e-9;
        ctx.Set("sgemm_1024_gflops_1t_best", Math.Round(best, 2));
        if (ctx.TryGet("fma_peak_gflops_1t_best", out double pb)) ctx.SetRatio("sgemm_1024_peak_fraction_1t_best", best, pb);
        int t = ctx.Options.Threads;
        double gm = ctx.SetGflops("sgemm_1024_gflops_mt", Shape.Flops, ctx.Measure(() => ops.RunOurs(t), singleThread: t == 1));
        if (ctx.TryGet("fma_peak_gflops_mt", out double pm)) ctx.SetRatio("sgemm_1024_peak_fraction_mt", gm, pm);
    }
}

/// <summary>
/// LeNet-300-100 and LeNet-5 GEMM shapes at batch 64: <c>gemm_{shape}_gflops</c> on the benchmark
/// threads and <c>gemm_{shape}_gflops_1t</c> on one thread.
/// </summary>
internal sealed class LeNetGemmSection : IKernelBenchSection
{
    public string Name => "lenet gemm shapes";

    public void Run(KernelBenchContext ctx)
    {
        int t = ctx.Options.Threads;
        foreach (var shape in GemmShape.LeNetBatch64)
        {
            var ops = new GemmOperands(shape);
            ctx.SetGflops($"gemm_{shape.Key}_gflops", shape.Flops, ctx.Measure(() => ops.RunOurs(t), singleThread: t == 1));
            ctx.SetGflops($"gemm_{shape.Key}_gflops_1t", shape.Flops, ctx.Measure(() => ops.RunOurs(1), singleThread: true));
        }
    }
}

/// <summary>OpenBLAS on the same problems (1024 on one and all threads, two LeNet shapes), when the library loads.</summary>
internal sealed class OpenBlasSection : IKernelBenchSection
{
    public string Name => "openblas";

    public void Run(KernelBenchContext ctx)
    {
        if (!ctx.Options.CompareOpenBlas) return;
        var blas = OpenBlas.TryLoad();
        if (blas is null)
        {
            ctx.Note("OpenBLAS not found (install libopenblas0): openblas_* and *_vs_openblas_* keys omitted");
            return;
        }
        ctx.Set("openblas_library", blas.LibraryPath);
        try
        {
            var ops = new GemmOperands(Sgemm1024Section.Shape);
            blas.SetThreads(1);
            double g1 = ctx.SetGflops("openblas_sgemm_1024_gflops_1t", Sgemm1024Section.Shape.Flops, ctx.Measure(() => ops.RunOpenBlas(blas), singleThread: true));
            if (ctx.TryGet("sgemm_1024_gflops_1t", out double o1)) ctx.SetRatio("sgemm_1024_vs_openblas_1t", o1, g1);
            int t = ctx.Options.Threads;
            blas.SetThreads(t);
            double gm = ctx.SetGflops("openblas_sgemm_1024_gflops_mt", Sgemm1024Section.Shape.Flops, ctx.Measure(() => ops.RunOpenBlas(blas), singleThread: t == 1));
            if (ctx.TryGet("sgemm_1024_gflops_mt", out double om)) ctx.SetRatio("sgemm_1024_vs_openblas_mt", om, gm);
            foreach (var shape in GemmShape.LeNetBatch64)
            {
                if (shape.Key is not ("lenet300_fc1_b64" or "lenet5_conv2_b64")) continue;
                var lo = new GemmOperands(shape);
                string key = $"gemm_{shape.Key}";
                double g = ctx.SetGflops($"openblas_{key}_gflops", shape.Flops, ctx.Measure(() => lo.RunOpenBlas(blas), singleThread: t == 1));
                if (ctx.TryGet($"{key}_gflops", out double ours)) ctx.SetRatio($"{key}_vs_openblas", ours, g);
            }
        }
        finally
        {
            blas.SetThreads(1); // park OpenBLAS's worker threads so later sections run undisturbed
        }
    }
}

namespace DeepShrink.Bench;

/// <summary>LeNet-5 convolution timings (forward and forward+backward at batch 64) as a kernel-bench section.</summary>
public sealed class ConvSection : IKernelBenchSection
{
    /// <inheritdoc/>
    public string Name => "conv2d (LeNet-5 layers, batch 64)";

    /// <inheritdoc/>
    public void Run(KernelBenchContext context)
    {
        foreach (var (k, v) in ConvBenchmarks.LeNet5(threads: context.Options.Threads)) context.Set(k, Math.Round(v, 4));
    }
}

/// <summary>
/// int8 (VNNI) and XNOR-popcount GEMM against our fp32 GEMM at 1024^3 on one thread, measured in the
/// same run; the fp32 rate is this section's own measurement of the same logical size.
/// </summary>
public sealed class QuantGemmSection : IKernelBenchSection
{
    /// <inheritdoc/>
    public string Name => "int8 and xnor GEMM (1024^3, 1 thread)";

    /// <inheritdoc/>
    public void Run(KernelBenchContext context)
    {
        foreach (var (k, v) in QuantKernelBenchmarks.Run(1024, context.Options.Repeats))
            if (k != "fma_peak_gflops_1t") context.Set(k, Math.Round(v, 4));
        context.Set("quant_kernel_paths", QuantKernelBenchmarks.Paths);
    }
}

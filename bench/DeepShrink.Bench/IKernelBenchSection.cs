namespace DeepShrink.Bench;

/// <summary>
/// One group of kernel measurements (FMA peak, SGEMM, LeNet GEMM shapes, OpenBLAS, and later conv,
/// int8 or xnor GEMM). A section writes its metrics into the shared <see cref="KernelBenchContext"/>
/// and may read metrics of sections that ran before it (e.g. the FMA peak).
/// </summary>
public interface IKernelBenchSection
{
    /// <summary>Short name shown in progress output.</summary>
    string Name { get; }

    /// <summary>Runs the measurements and records them in <paramref name="context"/>.</summary>
    void Run(KernelBenchContext context);
}

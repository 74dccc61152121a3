using System.Globalization;
using System.Text;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Bench;

/// <summary>
/// Kernel benchmark harness (no BenchmarkDotNet): runs the FMA peak, SGEMM and LeNet GEMM shape
/// measurements, the optional OpenBLAS comparison and any additional sections in one process, and
/// returns stable metric keys for <c>deepshrink bench kernels --json FILE</c>. Rates are medians
/// over repeats with their spread; efficiency is relative to the FMA peak measured in the same run.
/// </summary>
public static class KernelBenchmarks
{
    /// <summary>
    /// Sections every run includes, in order (later sections may read earlier metrics). A new kernel
    /// family (conv, int8 or xnor GEMM, ...) adds a class implementing <see cref="IKernelBenchSection"/>
    /// in its own file and appends it here; callers can also pass one-off sections through
    /// <see cref="KernelBenchOptions.AdditionalSections"/>.
    /// </summary>
    public static IReadOnlyList<IKernelBenchSection> BuiltInSections { get; } =
        [new FmaPeakSection(), new Sgemm1024Section(), new LeNetGemmSection(), new OpenBlasSection()];

    /// <summary>
    /// Runs all sections and returns the metrics: <c>isa</c>, <c>threads</c>, <c>fma_peak_gflops_1t</c>,
    /// <c>fma_peak_gflops_mt</c>, <c>sgemm_1024_gflops_1t</c>, <c>sgemm_1024_peak_fraction_1t</c>,
    /// <c>sgemm_1024_gflops_mt</c>, <c>gemm_{lenet shape}_gflops</c> (and <c>_1t</c>), and when
    /// OpenBLAS is present <c>openblas_sgemm_1024_gflops_1t</c> and <c>sgemm_1024_vs_openblas_1t</c>
    /// (ours / theirs); every rate has a <c>_spread</c> twin ((max - min) / median), <c>clock_1t</c>
    /// names the single-thread clock, and <c>notes</c> lists skipped comparisons.
    /// </summary>
    /// <param name="options">Settings; null means defaults.</param>
    /// <param name="progress">Receives each section's name before it runs (may be null).</param>
    public static IReadOnlyDictionary<string, object> Run(KernelBenchOptions? options = null, Action<string>? progress = null)
    {
        var ctx = new KernelBenchContext(options ?? new KernelBenchOptions());
        ctx.Set("isa", Gemm.IsaName);
        ctx.Set("threads", ctx.Options.Threads);
        ctx.Set("processor_count", Environment.ProcessorCount);
        ctx.Set("repeats", ctx.Options.Repeats);
        if (!JitOptimized(typeof(Gemm).Assembly) || !JitOptimized(typeof(KernelBenchmarks).Assembly))
            ctx.Note("kernels built without JIT optimisation (Debug configuration): numbers are not representative");
        ctx.Set("clock_1t", BenchClocks.Effective(ctx.Options.SingleThreadClock) == BenchClock.ThreadCpu ? "thread_cpu" : "wall");
        var sections = BuiltInSections.Concat(ctx.Options.AdditionalSections).Where(ctx.Options.Selects).ToList();
        if (sections.Count == 0)
            throw new ArgumentException($"no kernel benchmark section matches '{string.Join(", ", ctx.Options.Only)}' (sections: {string.Join("; ", BuiltInSections.Concat(ctx.Options.AdditionalSections).Select(s => s.Name))})");
        foreach (var section in sections)
        {
            progress?.Invoke(section.Name);
            section.Run(ctx);
        }
        var result = new Dictionary<string, object>(ctx.Metrics);
        if (ctx.Notes.Count > 0) result["notes"] = ctx.Notes.ToArray();
        return result;
    }

    private static bool JitOptimized(System.Reflection.Assembly assembly) =>
        assembly.GetCustomAttributes(typeof(System.Diagnostics.DebuggableAttribute), false)
            .OfType<System.Diagnostics.DebuggableAttribute>().All(d => !d.IsJITOptimizerDisabled);

    /// <summary>Formats metrics as an aligned two-column table (one metric per line).</summary>
    public static string FormatTable(IReadOnlyDictionary<string, object> metrics)
    {
        int width = metrics.Keys.Max(k => k.Length);
        var sb = new StringBuilder();
        foreach (var (key, value) in metrics)
        {
            string text = value switch
            {
                double d => d.ToString("0.###", CultureInfo.InvariantCulture),
                string[] list => string.Join("; ", list),
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => value.ToString() ?? "",
            };
            sb.Append(key.PadRight(width + 2)).AppendLine(text);
        }
        return sb.ToString();
    }
}

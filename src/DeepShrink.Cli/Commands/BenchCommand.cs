using System.CommandLine;
using DeepShrink.Bench;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Core;

namespace DeepShrink.Cli.Commands;

/// <summary>The <c>bench</c> verb: <c>kernels</c> (GEMM, conv, int8, xnor vs. the measured FMA peak) and <c>models</c>.</summary>
public static class BenchCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("bench", "Benchmarks (ratios measured in one run; see docs/RESULTS.md)");
        var kernels = new Command("kernels", "FMA peak, SGEMM (1 thread and all cores, vs OpenBLAS when installed), LeNet GEMM shapes, conv, int8 and xnor GEMM");
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats per measurement (median reported)", DefaultValueFactory = _ => 7 };
        var json = CommonOptions.Json();
        kernels.Options.Add(repeats); kernels.Options.Add(json);
        kernels.SetHandler(pr =>
        {
            int r = pr.GetValue(repeats);
            if (r < 1) throw new CliException("--repeats must be >= 1", 2);
            var metrics = KernelBenchmarks.Run(new KernelBenchOptions
            {
                Threads = Parallelism.Degree, Repeats = r,
                AdditionalSections = new IKernelBenchSection[] { new ConvSection(), new QuantGemmSection() },
            }, name => Console.Error.WriteLine($"bench: {name}"));
            Console.Write(KernelBenchmarks.FormatTable(metrics));
            new JsonReport().SetAll(metrics).WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        cmd.Subcommands.Add(kernels);
        cmd.Subcommands.Add(BenchModelsCommand.Create());
        return cmd;
    }
}

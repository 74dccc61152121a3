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
        cmd.Subcommands.Add(BenchResNetCommand.Create());
        cmd.Subcommands.Add(Training());
        return cmd;
    }

    /// <summary><c>bench training</c>: per-op profile of a training step (wall and process CPU time per op).</summary>
    private static Command Training()
    {
        var model = new Option<string>("--model") { Description = "Sequential zoo model to profile", DefaultValueFactory = _ => "lenet-5" };
        var steps = new Option<int>("--steps") { Description = "Profiled steps (lower quartile reported)", DefaultValueFactory = _ => 40 };
        var json = CommonOptions.Json();
        var cmd = new Command("training", "Per-op profile of a batch-64 training step: data, forward and backward per layer, loss, optimiser");
        cmd.Options.Add(model); cmd.Options.Add(steps); cmd.Options.Add(json);
        cmd.SetHandler(pr =>
        {
            int n = pr.GetValue(steps);
            if (n < 1) throw new CliException("--steps must be >= 1", 2);
            string arch = pr.GetValue(model)!;
            if (arch is not ("lenet-5" or "lenet-300-100")) throw new CliException($"--model must be lenet-5 or lenet-300-100 (sequential), got '{arch}'", 2);
            var r = TrainingProfile.Run(arch, n);
            Console.Write(TrainingProfile.Format(r));
            var report = new JsonReport().Set("model", arch).Set("threads", r.Threads).Set("batch", r.Batch)
                .Set("step_wall_us", r.StepWallUs).Set("step_cpu_us", r.StepCpuUs).Set("images_per_second", r.ImagesPerSecond)
                .Set("allocated_bytes_per_step", r.AllocatedBytesPerStep).Set("gc_pause_us_per_step", r.GcPauseUsPerStep);
            foreach (var p in r.Parts)
            {
                string key = p.Name.Replace(' ', '_');
                report.Set($"part_{key}_wall_us", p.WallUs).Set($"part_{key}_cpu_us", p.CpuUs);
            }
            report.WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        return cmd;
    }
}

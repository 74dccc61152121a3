using System.CommandLine;
using DeepShrink.Bench;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Core;

namespace DeepShrink.Cli.Commands;

/// <summary>The <c>bench</c> verb: <c>kernels</c> (GEMM, conv, int8, xnor vs. the measured FMA peak), <c>models</c>, <c>resnet</c>, <c>compare</c>, <c>training</c> and <c>pruning</c>.</summary>
public static class BenchCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("bench", "Benchmarks (ratios measured in one run; see docs/RESULTS.md)");
        var kernels = new Command("kernels", "FMA peak, SGEMM (1 thread and all cores, vs OpenBLAS when installed), LeNet GEMM shapes, conv, int8 and xnor GEMM, FFT and circulant layers");
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats per measurement (median reported)", DefaultValueFactory = _ => 7 };
        var json = CommonOptions.Json();
        var only = new Option<string[]>("--only")
        {
            Description = "Run only the sections whose name contains one of these words (e.g. --only circulant)",
            AllowMultipleArgumentsPerToken = true,
        };
        kernels.Options.Add(repeats); kernels.Options.Add(only); kernels.Options.Add(json);
        kernels.SetHandler(pr =>
        {
            int r = pr.GetValue(repeats);
            if (r < 1) throw new CliException("--repeats must be >= 1", 2);
            // An --only word that matches no section is an ArgumentException: a one-line error.
            var metrics = KernelBenchmarks.Run(new KernelBenchOptions
            {
                Threads = Parallelism.Degree, Repeats = r, Only = pr.GetValue(only) ?? [],
                AdditionalSections = new IKernelBenchSection[] { new ConvSection(), new QuantGemmSection(), new CirculantSection() },
            }, name => Console.Error.WriteLine($"bench: {name}"));
            Console.Write(KernelBenchmarks.FormatTable(metrics));
            new JsonReport().SetAll(metrics).WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        cmd.Subcommands.Add(kernels);
        cmd.Subcommands.Add(BenchModelsCommand.Create());
        cmd.Subcommands.Add(BenchResNetCommand.Create());
        cmd.Subcommands.Add(BenchCompareCommand.Create());
        cmd.Subcommands.Add(Training());
        cmd.Subcommands.Add(BenchPruningCommand.Create());
        cmd.Subcommands.Add(LowRank());
        cmd.Subcommands.Add(LowRankApprox());
        return cmd;
    }

    /// <summary><c>bench lowrank-approx</c>: same-shape checkpoints with SVD-approximated or pruned hidden layers, for <c>eval</c>.</summary>
    private static Command LowRankApprox()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint (.safetensors) of a linear network", Required = true };
        var outDir = new Option<string>("--out") { Description = "Directory for the approximated checkpoints", Required = true };
        var json = CommonOptions.Json();
        var cmd = new Command("lowrank-approx", "Write checkpoints with uniform / global SVD and equal-weight pruning of the hidden linear layers (no fine-tuning)");
        cmd.Options.Add(model); cmd.Options.Add(outDir); cmd.Options.Add(json);
        cmd.SetHandler(pr =>
        {
            string path = pr.GetValue(model)!;
            if (!File.Exists(path)) throw new CliException($"--model: file not found: {path}", 2);
            var rows = LowRankCheckpoints.Write(path, pr.GetValue(outDir)!);
            Console.Write(LowRankBenchmarks.Format(rows));
            new JsonReport().SetAll(rows.Select(kv => KeyValuePair.Create(kv.Key, kv.Value))).WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        return cmd;
    }

    /// <summary><c>bench lowrank</c>: SVD / Tucker-2 / CP timings and error against rank of a checkpoint's linear layers.</summary>
    private static Command LowRank()
    {
        var model = new Option<string?>("--model") { Description = "Checkpoint (.safetensors) whose linear layers get an error-versus-rank table" };
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats (median reported)", DefaultValueFactory = _ => 5 };
        var json = CommonOptions.Json();
        var cmd = new Command("lowrank", "Low-rank numerics: SVD 784x300 and 4608x512, Tucker-2 and CP of a 128x128x3x3 kernel, error vs rank");
        cmd.Options.Add(model); cmd.Options.Add(repeats); cmd.Options.Add(json);
        cmd.SetHandler(pr =>
        {
            int r = pr.GetValue(repeats);
            if (r < 1) throw new CliException("--repeats must be >= 1", 2);
            string? path = pr.GetValue(model);
            if (path is not null && !File.Exists(path)) throw new CliException($"--model: file not found: {path}", 2);
            var metrics = LowRankBenchmarks.Run(path, r);
            Console.Write(LowRankBenchmarks.Format(metrics));
            new JsonReport().SetAll(metrics.Select(kv => KeyValuePair.Create(kv.Key, kv.Value))).WriteIfRequested(pr.GetValue(json));
            return 0;
        });
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

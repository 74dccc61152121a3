using System.CommandLine;
using DeepShrink.Bench;
using DeepShrink.Cli.Infrastructure;

namespace DeepShrink.Cli.Commands;

/// <summary>
/// The <c>bench resnet</c> sub-verb: a dense float32 ResNet18 with seeded random weights in our runtime
/// and in ONNX Runtime (our ONNX export), same threads, batch 1 and batch B, interleaved in one run.
/// </summary>
public static class BenchResNetCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var threads = new Option<int>("--engine-threads") { Description = "Threads of both engines", DefaultValueFactory = _ => 2 };
        var sizes = new Option<string>("--sizes") { Description = "Comma-separated image sizes (the first gives the unprefixed keys)", DefaultValueFactory = _ => "224,64" };
        var batch = new Option<int>("--batch") { Description = "Throughput batch", DefaultValueFactory = _ => 8 };
        var seconds = new Option<double>("--seconds") { Description = "Measuring time per engine and measurement", DefaultValueFactory = _ => 2.0 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds per measurement", DefaultValueFactory = _ => 15 };
        var profile = new Option<bool>("--profile") { Description = "Also time every runtime step at batch 1 (first size)" };
        var layers = new Option<bool>("--layers") { Description = "Also time every conv shape alone: packed conv vs im2col + SGEMM (first size, batch 1)" };
        var json = CommonOptions.Json();
        var cmd = new Command("resnet", "ResNet18 (synthetic weights): our runtime vs ONNX Runtime, batch 1 and batch B, same threads");
        foreach (var o in new Option[] { threads, sizes, batch, seconds, rounds, profile, layers, json }) cmd.Options.Add(o);
        cmd.SetHandler(pr =>
        {
            int[] list;
            try { list = pr.GetValue(sizes)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray(); }
            catch (FormatException) { throw new CliException($"--sizes must be comma-separated integers, got '{pr.GetValue(sizes)}'", 2); }
            var opts = new ResNetBenchOptions
            {
                Threads = pr.GetValue(threads), ImageSizes = list, Batch = pr.GetValue(batch),
                SecondsPerMeasurement = pr.GetValue(seconds), Rounds = pr.GetValue(rounds), Profile = pr.GetValue(profile), Layers = pr.GetValue(layers), Log = Console.Error,
            };
            try { opts.Validate(); }
            catch (ArgumentOutOfRangeException e) { throw new CliException($"bench resnet: {e.Message.Split(" (Parameter")[0]}", 2); }
            var metrics = ResNetBenchmarks.Run(opts);
            foreach (var (k, v) in metrics) Console.WriteLine($"{k,-40} {JsonReport.ToNode(v)}");
            new JsonReport().SetAll(metrics).WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        return cmd;
    }
}

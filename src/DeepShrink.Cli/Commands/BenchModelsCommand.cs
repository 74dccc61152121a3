using System.CommandLine;
using DeepShrink.Bench;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Core;

namespace DeepShrink.Cli.Commands;

/// <summary>
/// The <c>bench models</c> sub-verb: batch-1 latency and batch-64 throughput of LeNet-300-100 and
/// LeNet-5 in our dense engine, our runtime on the compressed .dsz, and ONNX Runtime on the dense
/// export, plus training throughput, all in one run with the same thread count.
/// </summary>
public static class BenchModelsCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var l300 = new Option<string?>("--lenet300") { Description = "Dense LeNet-300-100 checkpoint (default: .cache/demo, else a generated one)" };
        var l300c = new Option<string?>("--lenet300-dsz") { Description = "Compressed LeNet-300-100 (default: .cache/demo, else paper sparsity)" };
        var l5 = new Option<string?>("--lenet5") { Description = "Dense LeNet-5 checkpoint" };
        var l5c = new Option<string?>("--lenet5-dsz") { Description = "Compressed LeNet-5" };
        var int8 = new Option<string?>("--int8") { Description = "An int8 .dsz (int8-ptq/int8-qat): time only its int8 runtime path against the float path of the same file and ONNX Runtime on its QDQ export" };
        var binary = new Option<string?>("--binary") { Description = "A binary .dsz (bnn/xnor/binary-connect): time only its XNOR/binary-weight runtime path against the float path of the same file and ONNX Runtime on its export" };
        var seconds = new Option<double>("--seconds") { Description = "Measuring time per engine and measurement", DefaultValueFactory = _ => 1.0 };
        var json = CommonOptions.Json();
        var cmd = new Command("models", "Model latency/throughput: dense engine vs compressed runtime vs ONNX Runtime; training throughput");
        foreach (var o in new Option[] { l300, l300c, l5, l5c, int8, binary, seconds, json }) cmd.Options.Add(o);
        cmd.SetHandler(pr =>
        {
            if (pr.GetValue(int8) is not null && pr.GetValue(binary) is not null)
                throw new CliException("bench models: give --int8 or --binary, not both", 2);
            foreach (var (file, kind) in new[] { (pr.GetValue(int8), QuantizedModelKind.Int8), (pr.GetValue(binary), QuantizedModelKind.Binary) })
            {
                if (file is null) continue;
                var mq = QuantizedModelBenchmarks.Run(kind, file, Parallelism.Degree, pr.GetValue(seconds), log: Console.Error);
                QuantizedModelBenchmarks.Print(kind, mq, Console.Out);
                new JsonReport().SetAll(mq).Set($"{kind.Prefix}_file", file).WriteIfRequested(pr.GetValue(json));
                return 0;
            }
            var dir = Path.Combine(".cache", "bench");
            Directory.CreateDirectory(dir);
            var (a, ac) = Resolve("lenet-300-100", pr.GetValue(l300), pr.GetValue(l300c), dir);
            var (b, bc) = Resolve("lenet-5", pr.GetValue(l5), pr.GetValue(l5c), dir);
            var metrics = ModelBenchmarks.Run(new ModelBenchOptions
            {
                Lenet300Dense = a, Lenet300Compressed = ac, Lenet5Dense = b, Lenet5Compressed = bc,
                Threads = Parallelism.Degree, SecondsPerMeasurement = pr.GetValue(seconds), Log = Console.Error,
            });
            ModelBenchTable.Print(metrics, Console.Out);
            new JsonReport().SetAll(metrics).Set("lenet300_dense_file", a).Set("lenet300_dsz_file", ac)
                .Set("lenet5_dense_file", b).Set("lenet5_dsz_file", bc).WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        return cmd;
    }

    private static (string Dense, string Compressed) Resolve(string arch, string? dense, string? compressed, string dir)
    {
        var demo = Path.Combine(".cache", "demo");
        dense ??= File.Exists(Path.Combine(demo, arch + ".safetensors")) ? Path.Combine(demo, arch + ".safetensors") : null;
        compressed ??= dense is not null && File.Exists(Path.Combine(demo, arch + ".dsz")) ? Path.Combine(demo, arch + ".dsz") : null;
        if (dense is null)
        {
            dense = Path.Combine(dir, arch + "-random.safetensors");
            if (!File.Exists(dense))
            {
                Console.Error.WriteLine($"bench: no trained {arch} given; generating a randomly initialised one (speed only) at {dense}");
                ModelBenchAssets.RandomCheckpoint(arch, dense);
            }
        }
        if (compressed is null)
        {
            compressed = Path.Combine(dir, Path.GetFileNameWithoutExtension(dense) + "-paper-sparsity.dsz");
            Console.Error.WriteLine($"bench: compressing {dense} at Deep Compression's per-layer sparsity (no retraining) -> {compressed}");
            ModelBenchAssets.CompressCheckpoint(dense, compressed);
        }
        return (dense, compressed);
    }
}

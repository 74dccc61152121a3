using DeepShrink.Nn.IO;
using System.CommandLine;
using System.Diagnostics;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Compression;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Cli.Commands;

/// <summary>
/// The <c>demo</c> verb, DeepShrink's main job on defaults: train LeNet-300-100 on Fashion-MNIST (or
/// reuse the cached checkpoint), compress it with Deep Compression (the built-in recipe tuned for the
/// model; <c>--recipe deep-compression</c> for automatic per-layer targets), report, and evaluate the .dsz.
/// </summary>
public static class DemoCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "lenet-300-100 (default) or lenet-5", DefaultValueFactory = _ => "lenet-300-100" };
        var dir = new Option<string>("--dir") { Description = "Working directory for checkpoints and reports", DefaultValueFactory = _ => Path.Combine(".cache", "demo") };
        var retrain = new Option<bool>("--retrain") { Description = "Train again even when a cached checkpoint exists" };
        var recipe = new Option<string?>("--recipe") { Description = "Recipe (default: deep-compression-lenet300 / deep-compression-lenet5, tuned for the model)" };
        var seed = CommonOptions.Seed();
        var json = CommonOptions.Json();
        var cmd = new Command("demo", "Train -> Deep Compression -> report -> evaluate the .dsz (the main job, on defaults)");
        foreach (var o in new Option[] { model, dir, retrain, recipe, seed, json }) cmd.Options.Add(o);
        cmd.SetHandler(pr =>
        {
            var arch = pr.GetValue(model)!;
            if (arch is not ("lenet-300-100" or "lenet-5")) throw new CliException($"demo supports lenet-300-100 and lenet-5, got '{arch}'", 2);
            var d = pr.GetValue(dir)!;
            Directory.CreateDirectory(d);
            var sw = Stopwatch.StartNew();
            ulong s = pr.GetValue(seed);
            var ckpt = Path.Combine(d, $"{arch}.safetensors");
            var dsz = Path.Combine(d, $"{arch}.dsz");

            Console.WriteLine($"== 1/3 train {arch} on Fashion-MNIST");
            JsonReport? trainReport = null;
            if (!pr.GetValue(retrain) && IsUsable(ckpt, arch))
                Console.WriteLine($"reusing cached checkpoint {ckpt} (pass --retrain to train again)");
            else
                trainReport = TrainCommand.Run(arch, TrainingDefaults.For(arch), "fashion-mnist", s, ckpt, allowInstall: true);

            Console.WriteLine();
            var recipeName = pr.GetValue(recipe) ?? DefaultRecipe(arch);
            Console.WriteLine($"== 2/3 Deep Compression (prune -> retrain -> share weights -> Huffman), recipe {recipeName} -> {dsz}");
            var compress = CompressCommand.Run(ckpt, recipeName, null, null, s, dsz);

            Console.WriteLine();
            Console.WriteLine($"== 3/3 evaluate {dsz}");
            var clf = ModelFiles.Open(dsz);
            var r = EvalCommand.Run(clf, null, "test", 256, 5000, s);
            Console.WriteLine($"{dsz} ({clf.Engine}): test accuracy {r.Accuracy:P2}, {r.ImagesPerSecond:N0} images/s");
            Console.WriteLine($"demo finished in {sw.Elapsed.TotalSeconds:F0} s; artifacts in {Path.GetFullPath(d)}");
            compress.Set("eval_engine", clf.Engine).Set("eval_accuracy", Math.Round(r.Accuracy, 6))
                .Set("demo_wall_seconds", Math.Round(sw.Elapsed.TotalSeconds, 1)).Set("trained", trainReport is not null);
            compress.WriteIfRequested(pr.GetValue(json));
            var runJson = Path.Combine(d, $"{arch}.run.json");
            compress.WriteIfRequested(runJson);
            compress.WriteHtml(Path.Combine(d, $"{arch}.report.html"), runJson);
            return 0;
        });
        return cmd;
    }

    /// <summary>The built-in recipe tuned for the demo model (docs/RESULTS.md).</summary>
    public static string DefaultRecipe(string arch) => arch == "lenet-5" ? "deep-compression-lenet5" : "deep-compression-lenet300";

    private static bool IsUsable(string path, string arch)
    {
        if (!File.Exists(path)) return false;
        try { return ModelIO.Load(path, DeepShrink.Compression.Quantization.InputHooks.Factories).Arch == arch; }
        catch (Exception e) when (e is FormatException or IOException) { return false; }
    }
}

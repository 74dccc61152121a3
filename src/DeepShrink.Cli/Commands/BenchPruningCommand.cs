using System.CommandLine;
using System.Globalization;
using DeepShrink.Bench;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Nn.IO;
using DeepShrink.Compression.Pruning;
using DeepShrink.Core;

namespace DeepShrink.Cli.Commands;

/// <summary>
/// The <c>bench pruning</c> sub-verb: one-shot (no retraining) test accuracy against sparsity for
/// magnitude, OBD and OBS pruning of a trained checkpoint (see <see cref="OneShotPruningBench"/>).
/// </summary>
public static class BenchPruningCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Trained .safetensors checkpoint", Required = true };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset spec (default: the one recorded in the checkpoint)" };
        var sparsities = new Option<string>("--sparsities") { Description = "Comma-separated per-layer sparsities", DefaultValueFactory = _ => "0.5,0.6,0.7,0.8,0.9,0.95" };
        var calibration = new Option<int>("--calibration") { Description = "Calibration images (random training images)", DefaultValueFactory = _ => 1024 };
        var damping = new Option<double>("--damping") { Description = "OBS damping (fraction of the mean Hessian diagonal)", DefaultValueFactory = _ => 0.01 };
        var uniformRows = new Option<bool>("--uniform-rows") { Description = "OBS: the same sparsity in every row (default: OBC's allocation across rows)" };
        var seed = CommonOptions.Seed();
        var json = CommonOptions.Json();
        var cmd = new Command("pruning", "One-shot pruning without retraining: accuracy vs sparsity for magnitude, OBD and OBS");
        foreach (var o in new Option[] { model, dataset, sparsities, calibration, damping, uniformRows, seed, json }) cmd.Options.Add(o);
        cmd.SetHandler(pr =>
        {
            var levels = ParseSparsities(pr.GetValue(sparsities)!);
            int n = pr.GetValue(calibration);
            if (n < 1) throw new CliException("--calibration must be >= 1", 2);
            var obs = new ObsOptions { Damping = pr.GetValue(damping), BalanceRows = !pr.GetValue(uniformRows) };
            try { obs.Validate(); } catch (ArgumentOutOfRangeException e) { throw new CliException(e.Message.Split(" (Parameter")[0], 2); }
            string path = pr.GetValue(model)!;
            if (ModelFiles.Detect(path) != ModelFiles.Kind.Safetensors) throw new CliException($"bench pruning needs a trained .safetensors checkpoint, got {path}");
            var stored = ModelFiles.LoadTrainable(path);
            var spec = pr.GetValue(dataset) ?? stored.Meta(ModelIO.DatasetKey) ?? "fashion-mnist";
            var data = DataArgs.LoadForModel(spec, 0, 42, ModelInput.FromMetadata(stored.Meta), stored.SampleShape, stored.Arch);
            var calib = DataArgs.Ordered(data.Train.RandomSubset(Math.Min(n, data.Train.Count), pr.GetValue(seed))).ToList();
            var test = DataArgs.Ordered(data.Test).ToList();
            var r = OneShotPruningBench.Run(stored.Model, calib, test, levels, obs, Console.Error);
            Console.Write(OneShotPruningBench.Format(r));
            new JsonReport().SetAll(r.Metrics()).Set("model", path).Set("arch", stored.Arch).Set("threads", Parallelism.Degree)
                .Set("seed", pr.GetValue(seed)).WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        return cmd;
    }

    private static double[] ParseSparsities(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new CliException("--sparsities is empty", 2);
        return parts.Select(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0 && v <= 1
            ? v : throw new CliException($"--sparsities: '{p}' is not a number in [0, 1]", 2)).ToArray();
    }
}

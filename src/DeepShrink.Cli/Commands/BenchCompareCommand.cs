using System.CommandLine;
using DeepShrink.Bench;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Nn.IO;

namespace DeepShrink.Cli.Commands;

/// <summary>
/// The <c>bench compare</c> sub-verb: any two model files (baseline and candidate) in our runtime and in ONNX Runtime,
/// same threads (default 2), same real inputs, batch 1 and batch 8 interleaved (<see cref="CompareBenchmarks"/>).
/// </summary>
public static class BenchCompareCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var baseline = new Option<string>("--baseline") { Description = "Baseline model file (.safetensors, .dsz or .onnx)", Required = true };
        var candidate = new Option<string>("--candidate") { Description = "Candidate model file (.safetensors, .dsz or .onnx)", Required = true };
        var imageSize = new Option<int?>("--image-size") { Description = "Expected input image size (must match both models' input; reported)" };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds per measurement (medians reported)", DefaultValueFactory = _ => 9 };
        var seconds = new Option<double>("--seconds") { Description = "Measuring time per engine and measurement", DefaultValueFactory = _ => 2.0 };
        var profile = new Option<bool>("--profile") { Description = "Also time every step of our runtime and every node of ONNX Runtime at batch 1 (table and JSON key 'profile')" };
        var json = CommonOptions.Json();
        var cmd = new Command("compare", "Two model files: our runtime and ONNX Runtime on each, batch 1 and 8, interleaved, same threads (default 2)");
        foreach (var o in new Option[] { baseline, candidate, imageSize, rounds, seconds, profile, json }) cmd.Options.Add(o);
        cmd.SetHandler(pr =>
        {
            int threads = pr.GetValue(CommonOptions.Threads) ?? 2;
            var b = Side(pr.GetValue(baseline)!, "--baseline");
            var c = Side(pr.GetValue(candidate)!, "--candidate");
            int[] shape = b.Model.SampleShape;
            if (!shape.SequenceEqual(c.Model.SampleShape))
                throw new CliException($"bench compare: the models take different inputs: baseline [{string.Join(", ", shape)}], candidate [{string.Join(", ", c.Model.SampleShape)}]", 2);
            if (pr.GetValue(imageSize) is int s && (shape.Length != 3 || shape[1] != s || shape[2] != s))
                throw new CliException($"bench compare: --image-size {s} does not match the models' input [{string.Join(", ", shape)}] (resizing a model's input is not supported here)", 2);
            const int batch = 8;
            var (inputs, source) = ParityInputs.Make(shape, batch, ModelFiles.NormOf(b.Model.Meta(ModelIO.NormalizationKey)));
            var opts = new CompareOptions
            {
                Threads = threads, Rounds = pr.GetValue(rounds), Seconds = pr.GetValue(seconds), Batch = batch,
                Inputs = inputs, InputSource = source, Log = Console.Error, Profile = pr.GetValue(profile),
            };
            try { opts.Validate(); }
            catch (ArgumentOutOfRangeException e) { throw new CliException($"bench compare: {e.Message.Split(" (Parameter")[0]}", 2); }
            var m = CompareBenchmarks.Run(b, c, opts);
            foreach (var (name, side) in new[] { ("baseline", b), ("candidate", c) })
            {
                m[$"{name}_params"] = CompressCommand.ParamCount(side.Model.Model);
                m[$"{name}_flops"] = 2 * CompressCommand.Macs(side.Model.Model);
                m[$"{name}_bytes"] = new FileInfo(side.Path).Length;
            }
            m["load_avg"] = LoadAvg();
            Console.Write(CompareBenchmarks.Format(m, batch));
            new JsonReport().SetAll(m.Select(kv => KeyValuePair.Create(kv.Key, kv.Value!))).WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        return cmd;
    }

    private static CompareSide Side(string path, string option)
    {
        if (!File.Exists(path)) throw new CliException($"{option}: file not found: {path}", 2);
        var kind = ModelFiles.Detect(path) switch
        {
            ModelFiles.Kind.Dsz => CompareKind.Dsz,
            ModelFiles.Kind.Onnx => CompareKind.Onnx,
            _ => CompareKind.Checkpoint,
        };
        return new CompareSide(path, kind, ModelFiles.LoadTrainable(path));
    }

    private static string LoadAvg()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "unknown"; }
    }
}

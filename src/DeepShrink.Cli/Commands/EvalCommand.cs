using System.CommandLine;
using System.Diagnostics;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Nn.Training;
using DeepShrink.Runtime;

namespace DeepShrink.Cli.Commands;

/// <summary>The <c>eval</c> verb: accuracy of a .safetensors, .dsz or .onnx model on a dataset split.</summary>
public static class EvalCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model file: .safetensors, .dsz or .onnx", Required = true };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset spec (default: the one recorded in the model, else fashion-mnist)" };
        var split = new Option<string>("--split") { Description = "test or val", DefaultValueFactory = _ => "test" };
        var batch = new Option<int>("--batch-size") { Description = "Batch size", DefaultValueFactory = _ => 256 };
        var kernels = new Option<string>("--kernels")
        {
            Description = ".dsz only: auto (time each layer's kernels at load, keep the fastest), compressed (int8/xnor/sparse/... kernels wherever they exist) or dense (decode weights to float32: the float simulation)",
            DefaultValueFactory = _ => "auto",
        };
        var json = CommonOptions.Json();
        var imageSize = DataArgs.ImageSizeOption("; default: the model's input size");
        var channels = DataArgs.ChannelsOption("; default: the model's input channels");
        var compare = new Option<bool>("--compare-ort")
        {
            Description = "Also run --samples real test images (resized to the model's input) through our runtime and ONNX Runtime (on the .onnx file itself, or on an ONNX export of the model) and report the largest output difference and the smallest cosine",
        };
        var samples = new Option<int>("--samples") { Description = "Images for --compare-ort", DefaultValueFactory = _ => 64 };
        var cmd = new Command("eval", "Evaluate a model's accuracy on a dataset (and its parity with ONNX Runtime)");
        foreach (var o in new Option[] { model, dataset, split, batch, kernels, json, imageSize, channels, compare, samples }) cmd.Options.Add(o);
        cmd.SetHandler(pr =>
        {
            if (pr.GetValue(batch) < 1) throw new CliException("--batch-size must be >= 1", 2);
            var sp = pr.GetValue(split);
            if (sp is not ("test" or "val")) throw new CliException($"--split must be test or val, got '{sp}'", 2);
            var policy = pr.GetValue(kernels) switch
            {
                "auto" => KernelPolicy.Auto, "compressed" => KernelPolicy.Compressed, "dense" => KernelPolicy.Dense,
                var k => throw new CliException($"--kernels must be auto, compressed or dense, got '{k}'", 2),
            };
            DataArgs.CheckImageOptions(pr.GetValue(imageSize), pr.GetValue(channels));
            if (pr.GetValue(samples) < 1) throw new CliException("--samples must be >= 1", 2);
            var path = ModelFiles.Resolve(pr.GetValue(model)!);
            var report = new JsonReport().Set("model", pr.GetValue(model));
            var clf = ModelFiles.Open(path, policy);
            report.Set("engine", clf.Engine).Set("threads", Parallelism.Degree);
            if (pr.GetValue(compare))
            {
                var p = OrtParity.Measure(path, pr.GetValue(samples), pr.GetValue(CommonOptions.Threads) ?? 0);
                Console.WriteLine($"parity with ONNX Runtime ({p.Onnx}) on {p.Inputs}: max |diff| {p.Result.MaxAbsDiff:G3} (outputs up to {p.Result.MaxAbsReference:G3}), min cosine {p.Result.MinCosine:F9}");
                report.Set("parity_samples", p.Result.Samples).Set("parity_inputs", p.Inputs).Set("parity_onnx", p.Onnx)
                    .Set("parity_max_abs_diff", p.Result.MaxAbsDiff).Set("parity_cosine_min", p.Result.MinCosine)
                    .Set("parity_max_abs_output", p.Result.MaxAbsReference);
            }
            if (pr.GetValue(compare) && pr.GetValue(dataset) is null && clf.Dataset is null)
                Console.WriteLine($"accuracy: skipped ({pr.GetValue(model)} records no dataset, e.g. an ImageNet feature extractor; pass --dataset to evaluate it as a classifier)");
            else
            {
                var r = Run(clf, pr.GetValue(dataset), sp, pr.GetValue(batch), 5000, 42, pr.GetValue(imageSize), pr.GetValue(channels));
                Console.WriteLine($"{pr.GetValue(model)} ({clf.Engine}): accuracy {r.Accuracy:P2}, loss {r.Loss:F4} on {r.Count:N0} {sp} images, {r.ImagesPerSecond:N0} images/s");
                report.Set("split", sp).Set("accuracy", Math.Round(r.Accuracy, 6)).Set("loss", Math.Round(r.Loss, 6)).Set("count", r.Count)
                    .Set("images_per_second", Math.Round(r.ImagesPerSecond, 1));
            }
            report.WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// Evaluates a classifier on a split of a dataset (checking the input shape). For a model with a
    /// square [1|3, N, N] input, <paramref name="imageSize"/> / <paramref name="channels"/> default to
    /// N / the model's channels, so the images are resized and converted to the model's input (a model
    /// trained with <c>--image-size</c> / <c>--channels</c> evaluates without repeating them).
    /// </summary>
    public static EvalStats Run(IClassifier clf, string? datasetSpec, string split, int batchSize, int valCount, ulong valSeed,
        int? imageSize = null, int? channels = null)
    {
        var (modelSize, modelChannels) = DatasetLoadOptions.ImageInputOf(clf.SampleShape);
        imageSize ??= modelSize;
        channels ??= modelChannels;
        var data = DataArgs.Load(datasetSpec ?? clf.Dataset ?? "fashion-mnist", split == "val" ? valCount : 0, valSeed, clf.Input, allowInstall: false, imageSize, channels);
        var ds = split == "val" ? data.Validation! : data.Test;
        if (!ds.SampleShape.SequenceEqual(clf.SampleShape))
            throw new CliException($"dataset images are {ShapeUtil.Format(ds.SampleShape)} but the model expects {ShapeUtil.Format(clf.SampleShape)}");
        var batches = DataArgs.Ordered(ds, batchSize).ToList();
        var sw = Stopwatch.StartNew();
        var outputs = batches.Select(b => (clf.Forward(b.X), b.Y)).ToList();
        double secs = sw.Elapsed.TotalSeconds;
        var stats = Trainer.EvaluateLogits(outputs);
        return stats with { Seconds = secs };
    }
}

using DeepShrink.Nn.IO;
using System.CommandLine;
using System.Diagnostics;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Compression;
using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Data.Transforms;
using DeepShrink.Nn;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Training;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Cli.Commands;

/// <summary>The <c>train</c> verb: trains a zoo model on a dataset and writes a checkpoint.</summary>
public static class TrainCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = $"Architecture ({string.Join(", ", StudentZoo.Names.Concat(ModelZoo.Names))}), a pretrained model to fine-tune (resnet18-imagenet) or a model file (.safetensors, .dsz, .onnx; with --width: its architecture trained from scratch)",
            DefaultValueFactory = _ => "lenet-300-100",
        };
        var head = new Option<int?>("--head") { Description = "Transfer learning: replace the model's classifier (or add one after its features) by a new one with N classes (N = the dataset's classes)" };
        var freeze = new Option<string>("--freeze")
        {
            Description = "Transfer learning: none (fine-tune every layer) or backbone (train only the --head on features computed once: the linear probe)",
            DefaultValueFactory = _ => "none",
        };
        var width = new Option<double?>("--width") { Description = "Train the model's graph with every layer's width times W, freshly initialised (the no-distillation baseline of distill --student teacher:W)" };
        var dataset = CommonOptions.Dataset();
        var epochs = new Option<int?>("--epochs") { Description = "Epochs (default: per model, see docs/RESULTS.md)" };
        var lr = new Option<float?>("--lr") { Description = "Peak learning rate (default: per model)" };
        var batch = new Option<int?>("--batch-size") { Description = "Minibatch size (default 64)" };
        var wd = new Option<float?>("--weight-decay") { Description = "Weight decay (default: per model)" };
        var ls = new Option<float?>("--label-smoothing") { Description = "Label smoothing in [0, 1) (default: per model)" };
        var val = new Option<int?>("--val") { Description = "Validation samples carved from the training set (default 5000)" };
        var seed = CommonOptions.Seed();
        var output = new Option<string>("--out") { Description = "Checkpoint to write (.safetensors)", Required = true };
        var json = CommonOptions.Json();
        var imageSize = DataArgs.ImageSizeOption();
        var channels = DataArgs.ChannelsOption();
        var cmd = new Command("train", "Train a zoo model, or fine-tune a pretrained model or model file (transfer learning), and write a safetensors checkpoint");
        foreach (var o in new Option[] { model, dataset, epochs, lr, batch, wd, ls, val, seed, output, json, imageSize, channels, head, freeze, width }) cmd.Options.Add(o);
        cmd.SetHandler(pr =>
        {
            var arch = pr.GetValue(model)!;
            bool zoo = ModelZoo.Names.Contains(arch) || StudentZoo.Names.Contains(arch) || pr.GetValue(width) is not null;
            var frozen = pr.GetValue(freeze) switch
            {
                "none" => false, "backbone" => true,
                var f => throw new CliException($"--freeze must be none or backbone, got '{f}'", 2),
            };
            if (zoo && (pr.GetValue(head) is not null || frozen))
                throw new CliException($"--head and --freeze fine-tune a pretrained model or a model file; '{arch}' is trained from scratch (a zoo architecture or --width)", 2);
            if (pr.GetValue(head) is int h && h < 1) throw new CliException($"--head must be >= 1, got {h}", 2);
            var d = !zoo ? TrainingDefaults.FineTune(arch, frozen) : ModelZoo.Names.Contains(arch) ? TrainingDefaults.For(arch) : GenericDefaults;
            d = d with
            {
                Epochs = pr.GetValue(epochs) ?? d.Epochs,
                Lr = pr.GetValue(lr) ?? d.Lr,
                BatchSize = pr.GetValue(batch) ?? d.BatchSize,
                ValidationCount = pr.GetValue(val) ?? d.ValidationCount,
                WeightDecay = pr.GetValue(wd) ?? d.WeightDecay,
                LabelSmoothing = pr.GetValue(ls) ?? d.LabelSmoothing,
            };
            if (d.WeightDecay < 0) throw new CliException("--weight-decay must be >= 0", 2);
            if (d.LabelSmoothing < 0 || d.LabelSmoothing >= 1) throw new CliException("--label-smoothing must be in [0, 1)", 2);
            if (d.Epochs < 0) throw new CliException("--epochs must be >= 0", 2);
            if (d.BatchSize < 1) throw new CliException("--batch-size must be >= 1", 2);
            if (!(d.Lr > 0)) throw new CliException("--lr must be > 0", 2);
            DataArgs.CheckImageOptions(pr.GetValue(imageSize), pr.GetValue(channels));
            if (!zoo)
            {
                FineTune.Run(new FineTuneRequest
                {
                    Model = arch, Head = pr.GetValue(head), FreezeBackbone = frozen, Defaults = d, Dataset = pr.GetValue(dataset)!,
                    Seed = pr.GetValue(seed), Out = pr.GetValue(output)!, ImageSize = pr.GetValue(imageSize), Channels = pr.GetValue(channels),
                }).WriteIfRequested(pr.GetValue(json));
                return 0;
            }
            var report = Run(arch, d, pr.GetValue(dataset)!, pr.GetValue(seed), pr.GetValue(output)!, allowInstall: false,
                pr.GetValue(imageSize), pr.GetValue(channels), pr.GetValue(width));
            report.WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        return cmd;
    }

    /// <summary>Trains and saves; returns the metrics (shared with <c>demo</c>). <paramref name="imageSize"/> and <paramref name="channels"/>: see <see cref="DataArgs.Load"/>.</summary>
    public static JsonReport Run(string arch, TrainingDefaults d, string datasetSpec, ulong seed, string outPath, bool allowInstall,
        int? imageSize = null, int? channels = null, double? width = null)
    {
        OutputPath.Check(outPath);
        var fileModel = File.Exists(arch) ? ModelFiles.LoadTrainable(arch).Model : null;
        if (fileModel is not null && fileModel.InputShape is [var fc, var fh, _]) { imageSize ??= fh; channels ??= fc; }
        var data = DataArgs.Load(datasetSpec, d.ValidationCount, seed, ModelInput.None, allowInstall, imageSize, channels);
        var config = new ModelConfig { InChannels = data.Train.Channels, ImageSize = data.Train.Height, NumClasses = data.Train.NumClasses };
        if (data.Train.Height != data.Train.Width) throw new CliException($"square images required, got {data.Train.Height}x{data.Train.Width}");
        var rng = new Rng(seed);
        GraphModule net;
        try
        {
            net = fileModel ?? StudentZoo.Create(arch, config, rng);
            if (width is double w) net = WidthScaling.Scale(net, w, rng);
        }
        catch (ArgumentException e) { throw new CliException(e.Message, 2); }
        if (!net.InputShape.SequenceEqual(data.Train.SampleShape))
            throw new CliException($"dataset images are {ShapeUtil.Format(data.Train.SampleShape)} but the model expects {ShapeUtil.Format(net.InputShape)}");
        var opt = MakeOptimizer(d.Optimizer, net, d.Lr, d.Momentum, d.WeightDecay);
        var transforms = Augmentation.Of(d.CropPadding, d.Flip);
        var loader = new DataLoader(data.Train, new DataLoaderOptions { BatchSize = d.BatchSize, Seed = seed, Transforms = transforms });
        Console.WriteLine($"train {arch}: {net.ParameterCount():N0} parameters, {data.Train.Count:N0} training / {data.Validation?.Count ?? 0:N0} validation / {data.Test.Count:N0} test images");
        Console.WriteLine($"  {d.Optimizer} lr {d.Lr} momentum {d.Momentum} weight decay {d.WeightDecay} label smoothing {d.LabelSmoothing} batch {d.BatchSize}, {d.Epochs} epochs, cosine schedule, seed {seed}, {Parallelism.Degree} threads");
        var sw = Stopwatch.StartNew();
        var history = Progress.Run($"training {arch}", d.Epochs, advance =>
        {
            var trainer = new Trainer
            {
                Schedule = new WarmupLr(d.WarmupEpochs, new CosineLr(Math.Max(1, d.Epochs))),
                Loss = (logits, _, y) => Ops.CrossEntropy(logits, y, d.LabelSmoothing),
                OnEpoch = st =>
                {
                    var v = data.Validation is null ? null : Trainer.Evaluate(net, DataArgs.Ordered(data.Validation));
                    advance(1, $"epoch {st.Epoch + 1}/{d.Epochs}: loss {st.Loss:F4}, train acc {st.TrainAccuracy:P2}" +
                        (v is null ? "" : $", val acc {v.Accuracy:P2}") + $", {st.Seconds:F1} s ({st.Images / st.Seconds:N0} img/s)");
                },
            };
            return trainer.Fit(net, opt, e => loader.Epoch(e).Select(b => (b.Images, b.Labels)), d.Epochs, loader.BatchesPerEpoch);
        });
        double wall = sw.Elapsed.TotalSeconds;
        var test = Trainer.Evaluate(net, DataArgs.Ordered(data.Test));
        var valStats = data.Validation is null ? null : Trainer.Evaluate(net, DataArgs.Ordered(data.Validation));
        Console.WriteLine($"test accuracy {test.Accuracy:P2} (loss {test.Loss:F4}) after {d.Epochs} epochs in {wall:F1} s");
        var meta = new Dictionary<string, string>
        {
            [ModelIO.NormalizationKey] = data.Normalization.ToJson(),
            [ModelIO.DatasetKey] = datasetSpec,
            [ModelIO.ValidationCountKey] = d.ValidationCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [ModelIO.ValidationSeedKey] = seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [ModelIO.AccuracyKey] = ModelIO.Num(test.Accuracy),
        };
        if (width is null && fileModel is null && ModelZoo.Names.Contains(arch)) ModelIO.Save(outPath, net, arch, config, meta);
        else ModelIO.Save(outPath, net, meta);
        Console.WriteLine($"wrote {outPath}");
        double trainImages = history.Sum(h => (double)h.Images), trainSeconds = history.Sum(h => h.Seconds);
        return new JsonReport()
            .Set("model", arch).Set("dataset", datasetSpec).Set("seed", (long)seed)
            .Set("accuracy", Math.Round(test.Accuracy, 6)).Set("loss", Math.Round(test.Loss, 6))
            .Set("val_accuracy", valStats is null ? null : Math.Round(valStats.Accuracy, 6))
            .Set("images_per_second", Math.Round(trainSeconds > 0 ? trainImages / trainSeconds : 0, 1))
            .Set("eval_images_per_second", Math.Round(test.ImagesPerSecond, 1))
            .Set("epochs", d.Epochs).Set("wall_seconds", Math.Round(wall, 2))
            .Set("seconds_per_epoch", Math.Round(d.Epochs > 0 ? trainSeconds / d.Epochs : 0, 3))
            .Set("parameters", net.ParameterCount()).Set("threads", Parallelism.Degree)
            .Set("history", JsonReport.ToNode(history.Select(h => new Dictionary<string, object>
            {
                ["epoch"] = h.Epoch + 1, ["loss"] = h.Loss, ["train_accuracy"] = h.TrainAccuracy, ["seconds"] = h.Seconds,
            })));
    }

    /// <summary>Defaults for students and model files (no augmentation, no label smoothing: the distill verb's setting).</summary>
    public static TrainingDefaults GenericDefaults { get; } = new() { Epochs = 5, Lr = 0.05f, WeightDecay = 5e-4f, WarmupEpochs = 1 };

    /// <summary>Creates an optimiser by name.</summary>
    public static Optimizer MakeOptimizer(string name, Module net, float lr, float momentum, float weightDecay)
        => MakeOptimizer(name, net.NamedParameters(), lr, momentum, weightDecay);

    /// <summary>Creates an optimiser by name over the given parameters.</summary>
    public static Optimizer MakeOptimizer(string name, IEnumerable<(string Name, Tensor Param)> parameters, float lr, float momentum, float weightDecay) => name switch
    {
        "sgd" => new Sgd(parameters, lr, momentum, weightDecay, nesterov: momentum > 0),
        "adam" => new Adam(parameters, lr, weightDecay: weightDecay),
        "adamw" => Adam.AdamW(parameters, lr, weightDecay),
        _ => throw new CliException($"unknown optimizer '{name}' (sgd, adam, adamw)", 2),
    };
}

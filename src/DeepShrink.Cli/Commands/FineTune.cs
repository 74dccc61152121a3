using System.Diagnostics;
using System.Globalization;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Data.Transforms;
using DeepShrink.Nn;
using DeepShrink.Nn.IO;
using DeepShrink.Nn.Training;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Cli.Commands;

/// <summary>What <c>train</c> does with a pretrained model or a model file: transfer learning.</summary>
public sealed record FineTuneRequest
{
    /// <summary>Pretrained model name (e.g. resnet18-imagenet) or model file (.safetensors, .dsz, .onnx).</summary>
    public required string Model { get; init; }
    /// <summary>New classifier width (null: keep the model's output, which must match the dataset's classes).</summary>
    public int? Head { get; init; }
    /// <summary>Train only the head on features computed once (the linear probe).</summary>
    public bool FreezeBackbone { get; init; }
    /// <summary>Hyper-parameters (see <see cref="TrainingDefaults.FineTune"/>).</summary>
    public required TrainingDefaults Defaults { get; init; }
    /// <summary>Dataset spec.</summary>
    public required string Dataset { get; init; }
    /// <summary>Seed of the head's initialisation, the shuffling and the validation split.</summary>
    public ulong Seed { get; init; }
    /// <summary>Checkpoint to write.</summary>
    public required string Out { get; init; }
    /// <summary>Image size (null: <see cref="TrainingDefaults.ImageSize"/>, else the model's input size).</summary>
    public int? ImageSize { get; init; }
    /// <summary>Image channels (null: the model's input channels).</summary>
    public int? Channels { get; init; }
}

/// <summary>
/// Transfer learning: loads a pretrained network (any model file or a pretrained model's name),
/// adapts its input size (size-agnostic networks only), puts a new classifier head on it and either
/// fine-tunes everything or trains only the head on features computed once (the linear probe, with the
/// backbone's BatchNorm statistics frozen).
/// </summary>
public static class FineTune
{
    private static string Augmented(TrainingDefaults d)
        => (d.CropPadding > 0 ? $", random crops (padding {d.CropPadding})" : "") + (d.Flip ? ", random flips" : "");

    /// <summary>Runs the fine-tuning, saves the checkpoint and returns the metrics.</summary>
    public static JsonReport Run(FineTuneRequest r)
    {
        OutputPath.Check(r.Out);
        var d = r.Defaults;
        var loaded = ModelFiles.LoadTrainable(r.Model, globalPool: true);
        var net = loaded.Model;
        var inShape = net.InputShape;
        if (inShape.Length != 3) throw new CliException($"{r.Model} takes {ShapeUtil.Format(inShape)} inputs; fine-tuning on images needs a [C, H, W] input");
        int size = r.ImageSize ?? d.ImageSize ?? inShape[1];
        if (r.ImageSize is null && d.ImageSize is null && inShape[1] != inShape[2])
            throw new CliException($"{r.Model} takes {inShape[1]}x{inShape[2]} images; pass --image-size for square images");
        int channels = r.Channels ?? inShape[0];
        if (channels != inShape[0]) throw new CliException($"{r.Model} takes {inShape[0]}-channel images, not {channels} (--channels)");
        var input = ModelInput.FromMetadata(loaded.Meta);
        var data = DataArgs.Load(r.Dataset, d.ValidationCount, r.Seed, input, allowInstall: false, size, channels);
        try { net = TransferLearning.WithImageSize(net, size, size); }
        catch (ArgumentException e) { throw new CliException($"{r.Model}: {e.Message}"); }

        int classes = data.Train.NumClasses;
        var rng = new Rng(r.Seed);
        string? head = null;
        if (r.Head is int h)
        {
            if (h != classes) throw new CliException($"--head {h}, but the dataset has {classes} classes");
            try { (net, head) = TransferLearning.WithHead(net, h, rng); }
            catch (ArgumentException e) { throw new CliException($"{r.Model}: {e.Message}"); }
        }
        else if (ShapeUtil.Numel(net.OutputShapeOfGraph) != classes)
            throw new CliException($"{r.Model} outputs {ShapeUtil.Format(net.OutputShapeOfGraph)} values per image and the dataset has {classes} classes: add --head {classes} for a new classifier");
        if (r.FreezeBackbone && head is null) throw new CliException("--freeze backbone trains only the new classifier: add --head N");

        long total = net.ParameterCount();
        long frozen = r.FreezeBackbone ? TransferLearning.Freeze(net, n => n == head) : 0;
        string what = r.FreezeBackbone ? "linear probe (backbone frozen, features computed once)" : "fine-tuning every layer";
        Console.WriteLine($"train {Path.GetFileName(r.Model)}{(head is null ? "" : $" + head {classes}")}: {what}; {total:N0} parameters ({total - frozen:N0} trained), input [{channels}, {size}, {size}], {data.Train.Count:N0} training / {data.Validation?.Count ?? 0:N0} validation / {data.Test.Count:N0} test images");
        Console.WriteLine($"  {d.Optimizer} lr {d.Lr} momentum {d.Momentum} weight decay {d.WeightDecay} label smoothing {d.LabelSmoothing} batch {d.BatchSize}, {d.Epochs} epochs, cosine schedule{(r.FreezeBackbone ? "" : Augmented(d))}, seed {r.Seed}, {Parallelism.Degree} threads");

        var sw = Stopwatch.StartNew();
        List<EpochStats> history;
        EvalStats test, val;
        double featureSeconds = 0;
        if (r.FreezeBackbone)
        {
            var backbone = TransferLearning.Backbone(net, head!);
            var fsw = Stopwatch.StartNew();
            var train = Features.Of(backbone, data.Train, "training");
            var valF = data.Validation is null ? null : Features.Of(backbone, data.Validation, "validation");
            var testF = Features.Of(backbone, data.Test, "test");
            featureSeconds = fsw.Elapsed.TotalSeconds;
            Console.WriteLine($"  features [{train.Dim}] of {train.Count + (valF?.Count ?? 0) + testF.Count:N0} images in {featureSeconds:F1} s");
            var layer = net.Layer(head!)!;
            history = Fit(layer, d, e => train.Batches(d.BatchSize, r.Seed + (ulong)e), train.BatchCount(d.BatchSize), valF is null ? null : () => Trainer.Evaluate(layer, valF.Batches(256)));
            test = Trainer.Evaluate(layer, testF.Batches(256));
            val = valF is null ? test : Trainer.Evaluate(layer, valF.Batches(256));
        }
        else
        {
            var transforms = Augmentation.Of(d.CropPadding, d.Flip);
            var loader = new DataLoader(data.Train, new DataLoaderOptions { BatchSize = d.BatchSize, Seed = r.Seed, Transforms = transforms });
            history = Fit(net, d, e => loader.Epoch(e).Select(b => (b.Images, b.Labels)), loader.BatchesPerEpoch,
                data.Validation is null ? null : () => Trainer.Evaluate(net, DataArgs.Ordered(data.Validation)));
            test = Trainer.Evaluate(net, DataArgs.Ordered(data.Test));
            val = data.Validation is null ? test : Trainer.Evaluate(net, DataArgs.Ordered(data.Validation));
        }
        double wall = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"test accuracy {test.Accuracy:P2} (loss {test.Loss:F4}) after {d.Epochs} epochs in {wall:F1} s");

        var meta = new Dictionary<string, string>(loaded.Metadata, StringComparer.Ordinal);
        meta.Remove(ModelIO.GraphKey);
        meta[ModelIO.DatasetKey] = r.Dataset;
        meta[ModelIO.ValidationCountKey] = d.ValidationCount.ToString(CultureInfo.InvariantCulture);
        meta[ModelIO.ValidationSeedKey] = r.Seed.ToString(CultureInfo.InvariantCulture);
        meta[ModelIO.AccuracyKey] = ModelIO.Num(test.Accuracy);
        meta["deepshrink.finetuned_from"] = Path.GetFileName(ModelFiles.Resolve(r.Model));
        input.WriteTo(meta, data.Normalization); // the stored normalisation when there was one, else the dataset's
        foreach (var (_, layer) in net.Layers()) if (layer is BatchNorm bn) bn.FreezeStatistics = false;
        foreach (var p in net.Parameters()) p.RequiresGrad = true;
        ModelIO.Save(r.Out, net, meta);
        Console.WriteLine($"wrote {r.Out}");
        double trainImages = history.Sum(x => (double)x.Images), trainSeconds = history.Sum(x => x.Seconds);
        return new JsonReport()
            .Set("model", r.Model).Set("dataset", r.Dataset).Set("seed", (long)r.Seed)
            .Set("head", r.Head).Set("freeze", r.FreezeBackbone ? "backbone" : "none").Set("image_size", size).Set("channels", channels)
            .Set("accuracy", Math.Round(test.Accuracy, 6)).Set("loss", Math.Round(test.Loss, 6))
            .Set("val_accuracy", data.Validation is null ? null : Math.Round(val.Accuracy, 6))
            .Set("images_per_second", Math.Round(trainSeconds > 0 ? trainImages / trainSeconds : 0, 1))
            .Set("epochs", d.Epochs).Set("lr", d.Lr).Set("wall_seconds", Math.Round(wall, 2))
            .Set("feature_seconds", Math.Round(featureSeconds, 2))
            .Set("seconds_per_epoch", Math.Round(d.Epochs > 0 ? trainSeconds / d.Epochs : 0, 3))
            .Set("parameters", total).Set("trained_parameters", total - frozen).Set("threads", Parallelism.Degree)
            .Set("history", JsonReport.ToNode(history.Select(x => new Dictionary<string, object>
            {
                ["epoch"] = x.Epoch + 1, ["loss"] = x.Loss, ["train_accuracy"] = x.TrainAccuracy, ["seconds"] = x.Seconds,
            })));
    }

    private static List<EpochStats> Fit(Module model, TrainingDefaults d, Func<int, IEnumerable<(Tensor X, int[] Y)>> batches, int perEpoch, Func<EvalStats>? validate)
    {
        var opt = TrainCommand.MakeOptimizer(d.Optimizer, TransferLearning.TrainableParameters(model), d.Lr, d.Momentum, d.WeightDecay);
        return Progress.Run("fine-tuning", d.Epochs, advance =>
        {
            var trainer = new Trainer
            {
                Schedule = new Nn.Optim.WarmupLr(d.WarmupEpochs, new Nn.Optim.CosineLr(Math.Max(1, d.Epochs))),
                Loss = (logits, _, y) => Ops.CrossEntropy(logits, y, d.LabelSmoothing),
                OnEpoch = st =>
                {
                    var v = validate?.Invoke();
                    advance(1, $"epoch {st.Epoch + 1}/{d.Epochs}: loss {st.Loss:F4}, train acc {st.TrainAccuracy:P2}" +
                        (v is null ? "" : $", val acc {v.Accuracy:P2}") + $", {st.Seconds:F1} s ({st.Images / st.Seconds:N0} img/s)");
                },
            };
            return trainer.Fit(model, opt, batches, d.Epochs, perEpoch);
        });
    }

    /// <summary>Features of a dataset under a frozen backbone, kept in memory.</summary>
    private sealed class Features
    {
        private readonly float[] _x;
        private readonly int[] _y;
        public int Dim { get; }
        public int Count => _y.Length;

        private Features(float[] x, int[] y, int dim) { _x = x; _y = y; Dim = dim; }

        public static Features Of(GraphModule backbone, ImageDataset ds, string what)
        {
            int dim = ShapeUtil.Numel(backbone.OutputShapeOfGraph);
            var x = new float[(long)ds.Count * dim];
            var y = new int[ds.Count];
            int at = 0;
            backbone.Eval();
            foreach (var (images, labels) in DataArgs.Ordered(ds, 64))
            {
                var f = backbone.Forward(images).ContiguousData();
                f.Span.CopyTo(x.AsSpan(at * dim));
                labels.CopyTo(y, at);
                at += labels.Length;
            }
            if (at != ds.Count) throw new InvalidOperationException($"{what} features: {at} of {ds.Count} images");
            return new Features(x, y, dim);
        }

        public int BatchCount(int batch) => (Count + batch - 1) / batch;

        /// <summary>Batches in order (<paramref name="seed"/> null) or shuffled by the seed.</summary>
        public IEnumerable<(Tensor X, int[] Y)> Batches(int batch, ulong? seed = null)
        {
            var order = Enumerable.Range(0, Count).ToArray();
            if (seed is ulong s) new Rng(s).Shuffle(order);
            for (int start = 0; start < Count; start += batch)
            {
                int b = Math.Min(batch, Count - start);
                var xb = new float[b * Dim];
                var yb = new int[b];
                for (int i = 0; i < b; i++)
                {
                    _x.AsSpan(order[start + i] * Dim, Dim).CopyTo(xb.AsSpan(i * Dim));
                    yb[i] = _y[order[start + i]];
                }
                yield return (new Tensor(xb, [b, Dim]), yb);
            }
        }
    }
}

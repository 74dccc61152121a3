using System.CommandLine;
using System.Diagnostics;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Compression;
using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Data.Transforms;
using DeepShrink.Format;
using DeepShrink.Nn.Training;

namespace DeepShrink.Cli.Commands;

/// <summary>The <c>compress</c> verb: runs a recipe on a checkpoint and writes a .dsz file.</summary>
public static class CompressCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Trained checkpoint (.safetensors)", Required = true };
        var recipe = new Option<string>("--recipe") { Description = "Built-in recipe name (deep-compression, ...) or a .yaml file", DefaultValueFactory = _ => "deep-compression" };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset spec (default: the one recorded in the checkpoint)" };
        var maxDrop = new Option<double?>("--max-drop") { Description = "Accuracy budget in percentage points for automatic choices (default: the recipe's)" };
        var seed = CommonOptions.Seed();
        var output = new Option<string>("--out") { Description = "Compressed model to write (.dsz)", Required = true };
        var teacher = new Option<string?>("--teacher") { Description = "Teacher checkpoint for a recipe with distillation (default: the input model)" };
        var json = CommonOptions.Json();
        var cmd = new Command("compress", "Compress a trained model with a recipe and write a .dsz file");
        foreach (var o in new Option[] { model, recipe, dataset, maxDrop, seed, output, teacher, json }) cmd.Options.Add(o);
        cmd.SetHandler(pr =>
        {
            var md = pr.GetValue(maxDrop);
            if (md is double d && (d < 0 || d > 100)) throw new CliException("--max-drop must be in [0, 100] percentage points", 2);
            var report = Run(pr.GetValue(model)!, pr.GetValue(recipe)!, pr.GetValue(dataset), md, pr.GetValue(seed), pr.GetValue(output)!, pr.GetValue(teacher));
            report.WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        return cmd;
    }

    /// <summary>Compresses and reports (shared with <c>demo</c>).</summary>
    public static JsonReport Run(string modelPath, string recipeName, string? datasetSpec, double? maxDropPp, ulong seed, string outPath, string? teacherPath = null)
    {
        OutputPath.Check(outPath);
        var recipe = RecipeLoader.Load(recipeName);
        if (teacherPath is not null && recipe.Training.Distillation is null)
            throw new CliException($"--teacher is given but recipe '{recipe.Name}' has no training.distillation", 2);
        if (ModelFiles.Detect(modelPath) != ModelFiles.Kind.Safetensors)
            throw new CliException($"compress needs a trained .safetensors checkpoint, got {modelPath}");
        var stored = ModelStore.Load(modelPath);
        var norm = ModelFiles.NormOf(stored.Meta(ModelStore.NormalizationKey));
        int valCount = int.TryParse(stored.Meta(ModelStore.ValidationCountKey), out var vc) ? vc : 5000;
        ulong valSeed = ulong.TryParse(stored.Meta(ModelStore.ValidationSeedKey), out var vs) ? vs : 42;
        var spec = datasetSpec ?? stored.Meta(ModelStore.DatasetKey) ?? "fashion-mnist";
        var data = DataArgs.Load(spec, valCount, valSeed, norm, allowInstall: false);
        if (!data.Train.SampleShape.SequenceEqual(stored.SampleShape))
            throw new CliException($"dataset images are {ShapeUtil.Format(data.Train.SampleShape)} but {stored.Arch} expects {ShapeUtil.Format(stored.SampleShape)}");
        var val = data.Validation ?? data.Train.RandomSubset(Math.Min(5000, data.Train.Count), valSeed);
        var sw = Stopwatch.StartNew();

        var baseline = Trainer.Evaluate(stored.Model, DataArgs.Ordered(data.Test));
        Console.WriteLine($"compress {stored.Arch} with recipe '{recipe.Name}': baseline test accuracy {baseline.Accuracy:P2}, {recipe.TotalEpochs} retraining epochs, seed {seed}");
        var tr = recipe.Training;
        var transforms = new List<ISampleTransform>();
        if (tr.CropPadding > 0) transforms.Add(new RandomCrop(tr.CropPadding));
        if (tr.Flip) transforms.Add(new RandomHorizontalFlip());
        Console.WriteLine($"  retraining: {tr.Optimizer} lr {tr.Lr} momentum {tr.Momentum} weight decay {tr.WeightDecay} label smoothing {tr.LabelSmoothing} batch {tr.BatchSize}"
            + (tr.Distillation is { } kd ? $", distillation (T {kd.Temperature}, weight {kd.Weight})" : "")
            + (tr.Flip ? ", random flips" : "") + (tr.CropPadding > 0 ? $", random crops (padding {tr.CropPadding})" : ""));
        var loader = new DataLoader(data.Train, new DataLoaderOptions { BatchSize = tr.BatchSize, Seed = seed, Transforms = transforms });
        var valBatches = DataArgs.Ordered(val).ToList();
        var ctx = new CompressionContext
        {
            Model = stored.Model,
            Teacher = LoadTeacher(recipe, stored, teacherPath),
            TrainBatches = e => loader.Epoch(e).Select(b => (b.Images, b.Labels)),
            BatchesPerEpoch = loader.BatchesPerEpoch,
            ValidationAccuracy = () => Trainer.Evaluate(stored.Model, valBatches).Accuracy,
            Rng = new Rng(seed),
            NumClasses = data.Train.NumClasses,
            Log = s => Console.WriteLine("  " + s),
            OnEpoch = st => Console.WriteLine($"  epoch {st.Epoch + 1}/{recipe.TotalEpochs}: loss {st.Loss:F4}, train acc {st.TrainAccuracy:P2}, lr {st.LearningRate:G3}, {st.Seconds:F1} s"),
        };
        if (ctx.Teacher is not null)
        {
            // The input model as teacher has the baseline's weights: its accuracy is already measured.
            double teacherAcc = teacherPath is null ? baseline.Accuracy : Trainer.Evaluate(ctx.Teacher, DataArgs.Ordered(data.Test)).Accuracy;
            Console.WriteLine($"  teacher: {teacherPath ?? "the input model"}, test accuracy {teacherAcc:P2}");
        }
        var encoder = new RecipeRunner(recipe) { MaxDropPp = maxDropPp }.Run(ctx);

        var meta = new Dictionary<string, string>
        {
            ["deepshrink.recipe"] = recipe.Name,
            [ModelStore.DatasetKey] = spec,
            [ModelStore.NormalizationKey] = data.Normalization.ToJson(),
            ["deepshrink.baseline_accuracy"] = ModelStore.Num(baseline.Accuracy),
            ["deepshrink.source"] = Path.GetFileName(modelPath),
        };
        DszModel.Write(outPath, stored.Model, stored.Arch, stored.Config, (n, t) => RecipeRunner.EncodeTensor(encoder, ctx, n, t), meta);

        // Measure what was written: decode the file and evaluate it.
        var file = DszFile.Read(outPath);
        var decoded = DszModel.Decode(file);
        foreach (var (n, t) in stored.Model.StateDict())
            if (decoded.Model.StateDict()[n].MaxAbsDiff(t) != 0f)
                throw new InvalidOperationException($"internal error: decoded tensor {n} differs from the compressed model");
        var compressed = Trainer.Evaluate(decoded.Model, DataArgs.Ordered(data.Test));
        var rows = DszReport.Rows(file);
        long dense = DszReport.DenseBytes(rows), bytes = new FileInfo(outPath).Length;
        Console.WriteLine();
        LayerTable.Print(rows, bytes);
        double ratio = (double)dense / bytes;
        Console.WriteLine($"dense fp32 {dense:N0} bytes -> {outPath} {bytes:N0} bytes: {ratio:F1}x smaller");
        Console.WriteLine($"test accuracy {baseline.Accuracy:P2} -> {compressed.Accuracy:P2} (drop {(baseline.Accuracy - compressed.Accuracy) * 100:F2} pp) in {sw.Elapsed.TotalSeconds:F0} s");
        return new JsonReport()
            .Set("model", stored.Arch).Set("recipe", recipe.Name).Set("out", outPath).Set("seed", (long)seed)
            .Set("dense_bytes", dense).Set("compressed_bytes", bytes).Set("ratio", Math.Round(ratio, 3))
            .Set("baseline_accuracy", Math.Round(baseline.Accuracy, 6)).Set("compressed_accuracy", Math.Round(compressed.Accuracy, 6))
            .Set("accuracy_drop_pp", Math.Round((baseline.Accuracy - compressed.Accuracy) * 100, 3))
            .Set("baseline_val_accuracy", Math.Round(ctx.BaselineValidationAccuracy, 6))
            .Set("max_drop_pp", maxDropPp ?? recipe.Find<PruningSpec>()?.MaxDropPp)
            .Set("teacher", recipe.Training.Distillation is null ? null : teacherPath ?? Path.GetFileName(modelPath))
            .Set("wall_seconds", Math.Round(sw.Elapsed.TotalSeconds, 1)).Set("threads", Parallelism.Degree)
            .Set("plan", JsonReport.ToNode(ctx.Plans.ToDictionary(kv => kv.Key, kv => (object)new Dictionary<string, object>
            {
                ["target_sparsity"] = Math.Round(kv.Value.TargetSparsity, 4), ["bits"] = kv.Value.Bits, ["source"] = kv.Value.Source,
            })))
            .Set("attempts", JsonReport.ToNode(ctx.Attempts.Select(a => new Dictionary<string, object>
            {
                ["attempt"] = a.Attempt, ["val_accuracy"] = Math.Round(a.ValidationAccuracy, 6),
                ["targets"] = a.Targets.ToDictionary(kv => kv.Key, kv => (object)Math.Round(kv.Value, 4)),
            })))
            .Set("layers", JsonReport.ToNode(rows.Select(r => r.ToDictionary())));
    }

    // The distillation teacher: the input model (a frozen copy) or another checkpoint on the same inputs.
    private static Nn.Module? LoadTeacher(Recipe recipe, StoredModel student, string? path)
    {
        if (recipe.Training.Distillation is null) return null;
        if (path is null) return ModelStore.Rebuild(student.Arch, student.Config, student.Model.StateDict()); // copies the weights
        if (ModelFiles.Detect(path) != ModelFiles.Kind.Safetensors) throw new CliException($"--teacher needs a trained .safetensors checkpoint, got {path}");
        var t = ModelStore.Load(path);
        if (!t.SampleShape.SequenceEqual(student.SampleShape) || t.Config.NumClasses != student.Config.NumClasses)
            throw new CliException($"teacher {path} ({t.Arch}, input {ShapeUtil.Format(t.SampleShape)}, {t.Config.NumClasses} classes) does not match the model ({student.Arch}, input {ShapeUtil.Format(student.SampleShape)}, {student.Config.NumClasses} classes)");
        if (t.Meta(ModelStore.NormalizationKey) != student.Meta(ModelStore.NormalizationKey))
            throw new CliException($"teacher {path} was trained with another input normalisation than the model");
        return t.Model;
    }
}

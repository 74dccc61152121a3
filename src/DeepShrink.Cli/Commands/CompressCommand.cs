using DeepShrink.Nn.IO;
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
        var model = new Option<string>("--model") { Description = "Trained model (.safetensors or .dsz)", Required = true };
        var recipe = new Option<string>("--recipe") { Description = "Built-in recipe name (deep-compression, ...) or a .yaml file", DefaultValueFactory = _ => "deep-compression" };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset spec (default: the one recorded in the checkpoint)" };
        var maxDrop = new Option<double?>("--max-drop") { Description = "Accuracy budget in percentage points for automatic choices (default: the recipe's)" };
        var seed = CommonOptions.Seed();
        var output = new Option<string>("--out") { Description = "Compressed model to write (.dsz)", Required = true };
        var teacher = new Option<string?>("--teacher") { Description = "Teacher model (.safetensors or .dsz) for a recipe with distillation (default: the input model)" };
        var json = CommonOptions.Json();
        var htmlReport = new Option<string?>("--report") { Description = "Also write an HTML report with plots to FILE (histograms, sensitivity, bytes, training curves, energy)" };
        var cmd = new Command("compress", "Compress a trained model with a recipe and write a .dsz file");
        foreach (var o in new Option[] { model, recipe, dataset, maxDrop, seed, output, teacher, json, htmlReport }) cmd.Options.Add(o);
        cmd.SetHandler(pr =>
        {
            var md = pr.GetValue(maxDrop);
            if (md is double d && (d < 0 || d > 100)) throw new CliException("--max-drop must be in [0, 100] percentage points", 2);
            var html = pr.GetValue(htmlReport);
            if (html is not null) OutputPath.Check(html);
            var report = Run(pr.GetValue(model)!, pr.GetValue(recipe)!, pr.GetValue(dataset), md, pr.GetValue(seed), pr.GetValue(output)!, pr.GetValue(teacher),
                over => over.WriteIfRequested(pr.GetValue(json)));
            report.WriteIfRequested(pr.GetValue(json));
            if (html is not null) report.WriteHtml(html, pr.GetValue(json));
            return 0;
        });
        return cmd;
    }

    /// <summary>Compresses and reports (shared with <c>demo</c>): the library's <see cref="Compressor"/> does the job.</summary>
    /// <remarks>When the accuracy budget is missed, <paramref name="onOverBudget"/> receives the report of what was reached (key <c>budget_met</c> false) before the one-line error (exit code 3).</remarks>
    public static JsonReport Run(string modelPath, string recipeName, string? datasetSpec, double? maxDropPp, ulong seed, string outPath, string? teacherPath = null,
        Action<JsonReport>? onOverBudget = null)
    {
        OutputPath.Check(outPath);
        var recipe = RecipeLoader.Load(recipeName);
        bool distils = recipe.Training.Distillation is not null || recipe.Components.Values.OfType<DistillationSpec>().Any();
        if (teacherPath is not null && !distils)
            throw new CliException($"--teacher is given but recipe '{recipe.Name}' does not distil (no training.distillation or distillation component)", 2);
        var stored = ModelFiles.LoadTrainable(modelPath);
        var input = ModelInput.FromMetadata(stored.Meta);
        int valCount = int.TryParse(stored.Meta(ModelIO.ValidationCountKey), out var vc) ? vc : 5000;
        ulong valSeed = ulong.TryParse(stored.Meta(ModelIO.ValidationSeedKey), out var vs) ? vs : 42;
        var spec = datasetSpec ?? stored.Meta(ModelIO.DatasetKey) ?? "fashion-mnist";
        // the images are resized / converted to the model's input, as eval does (a model fine-tuned with
        // --image-size / --channels, e.g. resnet18-imagenet at 3 x 32 x 32, compresses without repeating them)
        var data = DataArgs.LoadForModel(spec, valCount, valSeed, input, stored.SampleShape, stored.Arch);
        var val = data.Validation ?? data.Train.RandomSubset(Math.Min(5000, data.Train.Count), valSeed);
        long denseParams = ParamCount(stored.Model), denseMacs = Macs(stored.Model);

        Console.WriteLine($"compress {stored.Arch} with recipe '{recipe.Name}', seed {seed}");
        var tr = recipe.Training;
        Console.WriteLine($"  retraining: {tr.Optimizer} lr {tr.Lr} momentum {tr.Momentum} weight decay {tr.WeightDecay} label smoothing {tr.LabelSmoothing} batch {tr.BatchSize}"
            + (tr.Distillation is { } kd ? $", distillation (T {kd.Temperature}, weight {kd.Weight})" : "")
            + (tr.Flip ? ", random flips" : "") + (tr.CropPadding > 0 ? $", random crops (padding {tr.CropPadding})" : ""));
        var teacher = teacherPath is null ? null : LoadTeacher(teacherPath, stored);
        if (teacher is not null)
            Console.WriteLine($"  teacher: {teacherPath}, test accuracy {Trainer.Evaluate(teacher, DataArgs.Ordered(data.Test)).Accuracy:P2}");
        var meta = new Dictionary<string, string>
        {
            [ModelIO.DatasetKey] = spec,
            ["deepshrink.source"] = Path.GetFileName(modelPath),
        };
        input.WriteTo(meta, data.Normalization);
        var job = new CompressionJob
        {
            Model = stored, Recipe = recipe, Train = data.Train, Validation = val, Test = data.Test, OutPath = outPath,
            MaxDropPp = maxDropPp, Seed = seed, Teacher = teacher,
            Metadata = meta,
            Latency = new RuntimeLatencyMeter(),
            Log = s => Console.WriteLine("  " + s),
            OnEpoch = st => Console.WriteLine($"  epoch {st.Epoch + 1}/{recipe.TotalEpochs}: loss {st.Loss:F4}, train acc {st.TrainAccuracy:P2}, lr {st.LearningRate:G3}, {st.Seconds:F1} s"),
        };
        CompressionResult r;
        try { r = Compressor.Run(job); }
        catch (BudgetNotMetException e)
        {
            Print(e.Result);
            onOverBudget?.Invoke(Report(e.Result, stored, recipe, modelPath, e.Result.OutPath, seed, distils, teacherPath, denseParams, denseMacs).Set("budget_met", false));
            throw new CliException(e.Message, 3);
        }
        Print(r);
        return Report(r, stored, recipe, modelPath, outPath, seed, distils, teacherPath, denseParams, denseMacs).Set("budget_met", true);
    }

    private static JsonReport Report(CompressionResult r, LoadedModel stored, Recipe recipe, string modelPath, string outPath, ulong seed, bool distils, string? teacherPath,
        long denseParams, long denseMacs)
    {
        long cParams = ParamCount(r.Model), cMacs = Macs(r.Model);
        return new JsonReport()
            .Set("model", stored.Arch).Set("recipe", recipe.Name).Set("out", outPath).Set("seed", (long)seed)
            .Set("dense_bytes", r.DenseBytes).Set("compressed_bytes", r.CompressedBytes).Set("ratio", Math.Round(r.Ratio, 3))
            .Set("baseline_accuracy", Math.Round(r.BaselineAccuracy, 6)).Set("compressed_accuracy", Math.Round(r.CompressedAccuracy, 6))
            .Set("accuracy_drop_pp", Math.Round(r.DropPp, 3))
            .Set("baseline_val_accuracy", Math.Round(r.BaselineValidationAccuracy, 6))
            .Set("max_drop_pp", r.BudgetPp)
            .Set("dense_params", denseParams).Set("compressed_params", cParams)
            .Set("params_removed_fraction", Math.Round(1 - (double)cParams / denseParams, 6))
            .Set("dense_flops", 2 * denseMacs).Set("compressed_flops", 2 * cMacs)
            .Set("flops_removed_fraction", Math.Round(1 - (double)cMacs / denseMacs, 6))
            .Set("flops_reduction", Math.Round((double)denseMacs / cMacs, 4))
            .Set("graph_changed", r.GraphChanged)
            .Set("latency_baseline_b1_ms", r.Latency is { } lb ? Math.Round(lb.BaselineMs, 4) : null)
            .Set("latency_b1_ms", r.Latency is { } lc ? Math.Round(lc.CandidateMs, 4) : null)
            .Set("latency_fraction", r.Latency is { } lf ? Math.Round(lf.Ratio, 4) : null)
            .Set("teacher", distils ? teacherPath ?? Path.GetFileName(modelPath) : null)
            .Set("wall_seconds", Math.Round(r.Seconds, 1)).Set("threads", Parallelism.Degree)
            .Set("plan", JsonReport.ToNode(r.Context.Plans.ToDictionary(kv => kv.Key, kv => (object)new Dictionary<string, object>
            {
                ["target_sparsity"] = Math.Round(kv.Value.TargetSparsity, 4), ["bits"] = kv.Value.Bits, ["source"] = kv.Value.Source,
            })))
            .Set("attempts", JsonReport.ToNode(r.Context.Attempts.Select(a => new Dictionary<string, object>
            {
                ["attempt"] = a.Attempt, ["val_accuracy"] = Math.Round(a.ValidationAccuracy, 6),
                ["val_loss_pp"] = Math.Round(a.LossPp, 3), ["passed"] = a.Passed,
                ["targets"] = a.Targets.ToDictionary(kv => kv.Key, kv => (object)Math.Round(kv.Value, 4)),
            })))
            .Set("kept_attempt", r.Context.KeptAttempt)
            .Set("layers", JsonReport.ToNode(r.Layers.Select(row => row.ToDictionary())))
            .Set("container_bytes", r.CompressedBytes - r.Layers.Sum(row => row.Stats.PayloadBytes))
            .Set("energy", JsonReport.ToNode(EnergyOf(r.OutPath)))
            .Set("command", ReportCommand.CommandLine())
            .Set("trace", JsonReport.ToNode(r.Context.Trace.ToDictionary()));
    }

    /// <summary>The energy and bandwidth estimate of a model file, dense against as stored (<see cref="EnergyEstimate"/>; null when the file is absent).</summary>
    public static Dictionary<string, object>? EnergyOf(string path)
    {
        if (!File.Exists(path)) return null;
        return EnergyOf(ModelFileLayers.Read(path));
    }

    /// <summary>Energy estimate of a model's layers (dense fp32 and as stored), with the assumptions it rests on.</summary>
    public static Dictionary<string, object> EnergyOf(List<EnergyLayer> layers)
    {
        return new Dictionary<string, object>
        {
            ["dense"] = EnergyEstimate.Dense(layers).ToDictionary(), ["compressed"] = EnergyEstimate.Estimate(layers).ToDictionary(),
            ["assumptions"] = EnergyEstimate.Assumptions,
        };
    }

    private static void Print(CompressionResult r)
    {
        Console.WriteLine();
        LayerTable.Print(r.Layers.ToList(), r.CompressedBytes);
        Console.WriteLine($"dense fp32 {r.DenseBytes:N0} bytes -> {r.OutPath} {r.CompressedBytes:N0} bytes: {r.Ratio:F1}x smaller");
        Console.WriteLine($"test accuracy {r.BaselineAccuracy:P2} -> {r.CompressedAccuracy:P2} (drop {r.DropPp:F2} pp) in {r.Seconds:F0} s");
        if (r.Latency is { } lat)
            Console.WriteLine($"batch-1 latency in our runtime: {lat.BaselineMs:F3} -> {lat.CandidateMs:F3} ms ({lat.Ratio:0.###} of the input model's)");
    }

    /// <summary>Trainable parameters physically present in the model.</summary>
    public static long ParamCount(Nn.GraphModule m) => m.Parameters().Sum(p => (long)p.Size);

    /// <summary>Multiply-accumulates per sample (op schemas).</summary>
    public static long Macs(Nn.GraphModule m)
    {
        var state = m.StateDict();
        return Core.Graph.GraphAnalysis.TotalMacs(m.ToGraph(), n => state.TryGetValue(n, out var t) ? t.Shape : null);
    }

    // Another model file as the distillation teacher; it must take the same inputs and give the same outputs.
    private static Nn.Module LoadTeacher(string path, LoadedModel student)
    {
        var t = ModelFiles.LoadTrainable(path);
        if (!t.SampleShape.SequenceEqual(student.SampleShape) || !t.OutputShape.SequenceEqual(student.OutputShape))
            throw new CliException($"teacher {path} (input {ShapeUtil.Format(t.SampleShape)}, output {ShapeUtil.Format(t.OutputShape)}) does not match the model (input {ShapeUtil.Format(student.SampleShape)}, output {ShapeUtil.Format(student.OutputShape)})");
        if (t.Meta(ModelIO.NormalizationKey) != student.Meta(ModelIO.NormalizationKey))
            throw new CliException($"teacher {path} was trained with another input normalisation than the model");
        var (tOrder, sOrder) = (ModelInput.FromMetadata(t.Meta).ChannelOrder, ModelInput.FromMetadata(student.Meta).ChannelOrder);
        if (!(tOrder ?? [0, 1, 2]).SequenceEqual(sOrder ?? [0, 1, 2]))
            throw new CliException($"teacher {path} reads colour channels in another order ({ChannelOrder.Format(tOrder ?? [0, 1, 2])}) than the model ({ChannelOrder.Format(sOrder ?? [0, 1, 2])})");
        return t.Model;
    }
}

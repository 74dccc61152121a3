using System.CommandLine;
using System.Diagnostics;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Compression.Distillation;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Data;
using DeepShrink.Nn;
using DeepShrink.Nn.IO;
using DeepShrink.Nn.Training;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Cli.Commands;

/// <summary>
/// The <c>distill</c> verb: trains a student (zoo name, model file or <c>teacher:W</c>) from any teacher
/// model file with Hinton soft targets, FitNets hints, feature matching or attention transfer.
/// </summary>
public static class DistillCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var teacherOpt = new Option<string>("--teacher") { Description = "Teacher model file (.safetensors, .dsz or .onnx)", Required = true };
        var studentOpt = new Option<string>("--student") { Description = $"Student: a zoo name ({string.Join(", ", StudentZoo.Names.Concat(ModelZoo.Names))}) or NAME:W (its width times W), a model file, or teacher:W (the teacher's graph with every layer's width times W, freshly initialised)", Required = true };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset spec (default: the teacher's, else fashion-mnist); imagefolder:DIR without class folders is unlabelled" };
        var loss = new Option<string>("--loss") { Description = "kd (Hinton soft targets), features (MSE/cosine on a value; on the outputs = regression KD) or attention (attention transfer + labels)", DefaultValueFactory = _ => "kd" };
        var temperature = new Option<float>("--temperature") { Description = "Softmax temperature T (kd)", DefaultValueFactory = _ => 4f };
        var alpha = new Option<float>("--alpha") { Description = "Weight of the soft term (kd): (1-alpha) CE + alpha T^2 KL", DefaultValueFactory = _ => 0.9f };
        var tValue = new Option<string?>("--teacher-value") { Description = "Teacher node or value matched by features/attention (default: the output)" };
        var sValue = new Option<string?>("--student-value") { Description = "Student node or value matched by features/attention (default: the output)" };
        var featureLoss = new Option<string>("--feature-loss") { Description = "mse or cosine (features)", DefaultValueFactory = _ => "mse" };
        var hint = new Option<string?>("--hint") { Description = "FitNets hint layer (teacher node or value); trains --guided + a regressor on it first. Several: a comma-separated list, paired in order with --guided (one regressor per pair; the hint loss is the sum of the pairs' MSEs)" };
        var guided = new Option<string?>("--guided") { Description = "FitNets guided layer (student node or value); a comma-separated list of the same length as --hint for several pairs" };
        var hintEpochs = new Option<int>("--hint-epochs") { Description = "Epochs of the hint stage", DefaultValueFactory = _ => 2 };
        var hintWeight = new Option<float>("--hint-weight") { Description = "Keep the hint in the main stage as a term: main loss + W x hint MSE, summed over the pairs (the regressors go on training); 0 = two-stage FitNets only. Works with --hint-epochs 0 (hint term only)", DefaultValueFactory = _ => 0f };
        var hintLoss = new Option<string>("--hint-loss") { Description = "Hint distance: mse (FitNets) or margin (Heo et al. 2019: regressor with batch norm, margin-ReLU target, partial L2; for hints before the teacher's ReLU, e.g. --hint bn4 --guided bn6)", DefaultValueFactory = _ => "mse" };
        var guidedLr = new Option<float>("--guided-lr-scale") { Description = "Learning-rate factor in the main stage of the guided layer and every layer below it (0 freezes them)", DefaultValueFactory = _ => 1f };
        var crop = new Option<int>("--crop-padding") { Description = "Random crops: pad every side by N pixels, crop back (0 = off; the teacher then runs on every augmented batch)", DefaultValueFactory = _ => 0 };
        var flip = new Option<bool>("--flip") { Description = "Random left-right flips of the training images" };
        var ignoreLabels = new Option<bool>("--ignore-labels") { Description = "Use no labels for training (unlabelled distillation)" };
        var epochs = new Option<int>("--epochs") { Description = "Epochs of the main stage", DefaultValueFactory = _ => 5 };
        var lr = new Option<float>("--lr") { Description = "Peak learning rate (SGD, cosine schedule)", DefaultValueFactory = _ => 0.05f };
        var batch = new Option<int>("--batch-size") { Description = "Minibatch size", DefaultValueFactory = _ => 64 };
        var wd = new Option<float>("--weight-decay") { Description = "Weight decay", DefaultValueFactory = _ => 5e-4f };
        var trainCount = new Option<int?>("--train-count") { Description = "Use a seeded random subset of N training images (default: all)" };
        var val = new Option<int>("--val") { Description = "Validation samples carved from the training set", DefaultValueFactory = _ => 5000 };
        var seed = CommonOptions.Seed();
        var output = new Option<string>("--out") { Description = "Student checkpoint to write (.safetensors)", Required = true };
        var json = CommonOptions.Json();
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Write the run's state to this file after every epoch (atomically); removed once the student is written" };
        var resume = new Option<bool>("--resume") { Description = "Continue from --checkpoint when it exists (same options and data; the continued run repeats the uninterrupted one), else start" };
        var imageSize = DataArgs.ImageSizeOption("; default: the teacher's input size");
        var channels = DataArgs.ChannelsOption("; default: the teacher's input channels");
        var cmd = new Command("distill", "Distil a teacher model into a student (Hinton KD, FitNets hints, feature/attention/regression distillation)");
        foreach (var o in new Option[] { teacherOpt, studentOpt, dataset, loss, temperature, alpha, tValue, sValue, featureLoss, hint, guided, hintEpochs,
            hintWeight, hintLoss, guidedLr, crop, flip, ignoreLabels, epochs, lr, batch, wd, trainCount, val, seed, output, json, checkpoint, resume, imageSize, channels }) cmd.Options.Add(o);
        cmd.SetHandler(pr =>
        {
            var objective = pr.GetValue(loss) switch
            {
                "kd" => DistillObjective.Kd, "features" => DistillObjective.Features, "attention" => DistillObjective.Attention,
                var l => throw new CliException($"--loss must be kd, features or attention, got '{l}'", 2),
            };
            var opts = new DistillOptions
            {
                Objective = objective, Temperature = pr.GetValue(temperature), Weight = pr.GetValue(alpha),
                TeacherValue = pr.GetValue(tValue), StudentValue = pr.GetValue(sValue), FeatureLoss = pr.GetValue(featureLoss)!,
                Hint = pr.GetValue(hint), Guided = pr.GetValue(guided), HintEpochs = pr.GetValue(hint) is null ? 0 : pr.GetValue(hintEpochs),
                HintWeight = pr.GetValue(hintWeight), HintLoss = pr.GetValue(hintLoss)!, GuidedLrScale = pr.GetValue(guidedLr),
                IgnoreLabels = pr.GetValue(ignoreLabels), Epochs = pr.GetValue(epochs), Lr = pr.GetValue(lr), BatchSize = pr.GetValue(batch),
                WeightDecay = pr.GetValue(wd), Seed = pr.GetValue(seed), CropPadding = pr.GetValue(crop), Flip = pr.GetValue(flip),
            };
            try { opts.Validate(); }
            catch (ArgumentException e) { throw new CliException(e.Message, 2); }
            if (pr.GetValue(trainCount) is int tc && tc < 1) throw new CliException("--train-count must be >= 1", 2);
            DataArgs.CheckImageOptions(pr.GetValue(imageSize), pr.GetValue(channels));
            var ckPath = CheckCheckpoint(pr.GetValue(checkpoint), pr.GetValue(resume), pr.GetValue(output)!);
            var report = Run(pr.GetValue(teacherOpt)!, pr.GetValue(studentOpt)!, pr.GetValue(dataset), opts, pr.GetValue(val), pr.GetValue(trainCount),
                pr.GetValue(output)!, pr.GetValue(imageSize), pr.GetValue(channels), ckPath, pr.GetValue(resume));
            report.WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        return cmd;
    }

    // --checkpoint / --resume: one-line errors for a combination that would lose or mix up a run
    private static string? CheckCheckpoint(string? path, bool resume, string outPath)
    {
        if (path is null)
            return resume ? throw new CliException("--resume needs --checkpoint F (the file to continue from)", 2) : null;
        OutputPath.Check(path);
        if (Path.GetFullPath(path) == Path.GetFullPath(outPath)) throw new CliException("--checkpoint must differ from --out", 2);
        if (File.Exists(path) && !resume)
            throw new CliException($"checkpoint {path} exists: pass --resume to continue that run, or remove it to start over", 2);
        return path;
    }

    private static JsonReport Run(string teacherPath, string studentSpec, string? datasetSpec, DistillOptions o, int valCount, int? trainCount,
        string outPath, int? imageSize, int? channels, string? checkpointPath, bool resume)
    {
        OutputPath.Check(outPath);
        var loaded = ModelFiles.LoadTrainable(teacherPath);
        var teacher = WithImageSize(loaded.Model, imageSize);
        var ts = teacher.InputShape;
        var (modelSize, modelChannels) = DatasetLoadOptions.ImageInputOf(ts);
        imageSize ??= modelSize;
        channels ??= modelChannels;
        var spec = datasetSpec ?? loaded.Meta(ModelIO.DatasetKey) ?? "fashion-mnist";
        var input = ModelInput.FromMetadata(loaded.Meta);
        var data = DataArgs.Load(spec, valCount, o.Seed, input, allowInstall: false, imageSize, channels);
        if (!data.Train.SampleShape.SequenceEqual(ts))
            throw new CliException($"dataset images are {ShapeUtil.Format(data.Train.SampleShape)} but the teacher expects {ShapeUtil.Format(ts)}");
        var train = trainCount is int n && n < data.Train.Count ? data.Train.RandomSubset(n, o.Seed) : data.Train;
        bool labelled = data.Train.NumClasses > 1 && !o.IgnoreLabels;
        var student = MakeStudent(studentSpec, teacher, o.Seed);
        if (!student.InputShape.SequenceEqual(ts))
            throw new CliException($"student input {ShapeUtil.Format(student.InputShape)} differs from the teacher's {ShapeUtil.Format(ts)}");
        o = o with { IgnoreLabels = !labelled };
        if (o.Objective == DistillObjective.Kd && !student.OutputShapeOfGraph.SequenceEqual(teacher.OutputShapeOfGraph))
            throw new CliException($"kd needs equal outputs: student {ShapeUtil.Format(student.OutputShapeOfGraph)} vs teacher {ShapeUtil.Format(teacher.OutputShapeOfGraph)}");
        long tMacs = Macs(teacher), sMacs = Macs(student), tParams = teacher.ParameterCount(), sParams = student.ParameterCount();
        Console.WriteLine($"distill {o.Objective.ToString().ToLowerInvariant()}: teacher {teacherPath} ({tParams:N0} parameters, {2 * tMacs:N0} FLOPs/image) -> student {studentSpec} ({sParams:N0} parameters, {2 * sMacs:N0} FLOPs/image; {(double)tParams / Math.Max(1, sParams):F1}x fewer parameters, {(double)tMacs / Math.Max(1, sMacs):F1}x fewer FLOPs)");
        Console.WriteLine($"  {train.Count:N0} training images{(labelled ? "" : " (labels not used)")}, T {o.Temperature}, alpha {o.Weight}, {(o.Hint is null ? "" : $"hints {o.Hint} <- {o.Guided} for {o.HintEpochs} epochs{(o.HintWeight > 0 ? $" and weight {o.HintWeight} in the main stage" : "")}{(o.HintLoss != "mse" ? $", {o.HintLoss} loss" : "")}{(o.GuidedLrScale != 1 ? $", guided layers at lr x {o.GuidedLrScale}" : "")}, ")}{o.Epochs} epochs, lr {o.Lr}, batch {o.BatchSize}{(o.CropPadding > 0 ? $", random crops (padding {o.CropPadding})" : "")}{(o.Flip ? ", random flips" : "")}, seed {o.Seed}, {Parallelism.Degree} threads");
        var sw = Stopwatch.StartNew();
        // validation accuracy after every epoch of a classifier student (the carved-out split; not during hints, whose head is untrained)
        var valSet = data.Validation is { Count: > 0 } v && v.NumClasses > 1 && student.OutputShapeOfGraph is [var oc] && oc == v.NumClasses ? v : null;
        int resumedEpochs = 0;
        var distiller = new Distiller(teacher, student, o)
        {
            OnEpoch = e =>
            {
                string va = "";
                if (valSet is not null && e.Stage != "hints")
                {
                    double acc = e.Metrics["val_accuracy"] = Trainer.Evaluate(student, DataArgs.Ordered(valSet)).Accuracy;
                    va = $", validation {acc:P2}";
                }
                Console.WriteLine($"  {e.Stage} epoch {e.Epoch + 1}: loss {e.Loss:F4}{va}, {e.Seconds:F1} s ({e.Images / Math.Max(1e-9, e.Seconds):N0} img/s)");
            },
            CheckpointPath = checkpointPath,
            Resume = resume,
            OnResume = ck =>
            {
                resumedEpochs = ck.History.Count;
                var last = ck.History.Count > 0 ? ck.History[^1] : null;
                Console.WriteLine($"  continuing {checkpointPath}: {(last is null ? "no epoch" : $"{last.Stage} epoch {last.Epoch + 1}")} done ({ck.History.Count} epoch(s) so far, {ck.History.Sum(h => h.Seconds):F0} s)");
            },
        };
        if (resume && checkpointPath is not null && !File.Exists(checkpointPath)) Console.WriteLine($"  no checkpoint {checkpointPath} yet: starting from the first epoch");
        List<DistillEpoch> history;
        try { history = distiller.Run(train); }
        catch (ArgumentException e) { throw new CliException(e.Message, 2); }
        catch (InvalidDataException e) { throw new CliException(e.Message, 2); }
        double wall = sw.Elapsed.TotalSeconds;
        var report = new JsonReport().Set("teacher", teacherPath).Set("student", studentSpec).Set("dataset", spec).Set("loss", o.Objective.ToString().ToLowerInvariant())
            .Set("temperature", o.Temperature).Set("alpha", o.Weight).Set("hint", o.Hint).Set("guided", o.Guided).Set("hint_epochs", o.HintEpochs)
            .Set("hint_weight", o.HintWeight).Set("hint_loss", o.HintLoss).Set("guided_lr_scale", o.GuidedLrScale)
            .Set("crop_padding", o.CropPadding).Set("flip", o.Flip)
            .Set("epochs", o.Epochs).Set("seed", (long)o.Seed).Set("train_images", train.Count).Set("labels_used", labelled)
            .Set("student_params", sParams).Set("teacher_params", tParams).Set("student_flops", 2 * sMacs).Set("teacher_flops", 2 * tMacs)
            .Set("wall_seconds", Math.Round(wall, 2)).Set("resumed_epochs", resumedEpochs)
            .Set("history", JsonReport.ToNode(history.Select(h =>
            {
                var row = new Dictionary<string, object> { ["stage"] = h.Stage, ["epoch"] = h.Epoch + 1, ["loss"] = h.Loss, ["seconds"] = h.Seconds };
                foreach (var (k, m) in h.Metrics) row[k] = Math.Round(m, 6);
                return row;
            })));
        bool hasLabels = data.Test.NumClasses > 1;
        int classes = data.Test.NumClasses;
        if (hasLabels && student.OutputShapeOfGraph is [var sc] && sc == classes)
        {
            var acc = Trainer.Evaluate(student, DataArgs.Ordered(data.Test)).Accuracy;
            report.Set("accuracy", Math.Round(acc, 6));
            Console.WriteLine($"student test accuracy {acc:P2}");
        }
        if (hasLabels && teacher.OutputShapeOfGraph is [var tc] && tc == classes)
        {
            var tacc = Trainer.Evaluate(teacher, DataArgs.Ordered(data.Test)).Accuracy;
            report.Set("teacher_accuracy", Math.Round(tacc, 6));
            Console.WriteLine($"teacher test accuracy {tacc:P2}");
        }
        if (o.Objective == DistillObjective.Features)
        {
            string tv = Distiller.ResolveValue(teacher, o.TeacherValue ?? teacher.Graph.Output, "teacher"), sv = Distiller.ResolveValue(student, o.StudentValue ?? student.Graph.Output, "student");
            var tTest = LinearProbe.Features(teacher, data.Test, tv);
            var sTest = LinearProbe.Features(student, data.Test, sv);
            if (tTest.Shape[1] == sTest.Shape[1])
            {
                double cos;
                using (DeepShrink.Core.Autograd.Engine.NoGrad()) cos = Ops.Mean(DistillLosses.RowCosine(sTest, tTest)).Item();
                report.Set("feature_cosine", Math.Round(cos, 6));
                Console.WriteLine($"feature cosine (mean over {data.Test.Count:N0} test images) {cos:F4}");
            }
            if (hasLabels && train.NumClasses == classes)
            {   // the probe reads the training split's labels even when distillation ignored them
                var labelsTr = train.Labels; var labelsTe = data.Test.Labels;
                double sp = LinearProbe.Accuracy(LinearProbe.Features(student, train, sv), labelsTr, sTest, labelsTe, classes, seed: o.Seed);
                double tp = LinearProbe.Accuracy(LinearProbe.Features(teacher, train, tv), labelsTr, tTest, labelsTe, classes, seed: o.Seed);
                report.Set("linear_probe_accuracy", Math.Round(sp, 6)).Set("teacher_linear_probe_accuracy", Math.Round(tp, 6));
                Console.WriteLine($"linear probe on frozen features (train split -> test): student {sp:P2}, teacher {tp:P2}");
            }
        }
        var meta = new Dictionary<string, string>
        {
            [ModelIO.DatasetKey] = spec,
            ["deepshrink.distilled_from"] = Path.GetFileName(teacherPath),
        };
        input.WriteTo(meta, data.Normalization); // the student saw the teacher's channel order
        ModelIO.Save(outPath, student, meta);
        if (!ReferenceEquals(teacher, loaded.Model))
        {   // the resized teacher, for latency comparisons at the student's image size (bench compare)
            var tPath = Path.ChangeExtension(outPath, null) + $".teacher-{ts[1]}.safetensors";
            ModelIO.Save(tPath, teacher, new Dictionary<string, string>(meta) { ["deepshrink.distilled_from"] = Path.GetFileName(teacherPath) });
            Console.WriteLine($"wrote the teacher at {ts[1]}x{ts[2]} to {tPath}");
            report.Set("teacher_resized", tPath);
        }
        if (checkpointPath is not null && File.Exists(checkpointPath))
        {
            File.Delete(checkpointPath);
            Console.WriteLine($"removed the checkpoint {checkpointPath} (the student is written)");
        }
        Console.WriteLine($"wrote {outPath} in {wall:F1} s of training{(resumedEpochs > 0 ? $" (this process; {resumedEpochs} epoch(s) before it)" : "")}");
        return report;
    }

    // The width factor W of a student spec FORM (teacher:W, NAME:W) that starts at index from of spec.
    private static double Width(string spec, int from, string form) =>
        double.TryParse(spec[from..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var w)
            ? w : throw new CliException($"--student {form} needs a number W, got '{spec}'", 2);

    /// <summary>A student from a spec: <c>teacher:W</c>, a model file, or a zoo name (input and output sizes from the teacher).</summary>
    public static GraphModule MakeStudent(string spec, GraphModule teacher, ulong seed)
    {
        if (spec.StartsWith("teacher:", StringComparison.Ordinal))
        {
            double w = Width(spec, "teacher:".Length, "teacher:W");
            try { return WidthScaling.Scale(teacher, w, new Rng(seed)); }
            catch (ArgumentException e) { throw new CliException(e.Message, 2); }
        }
        if (File.Exists(spec)) return ModelFiles.LoadTrainable(spec).Model;
        double? width = null;
        if (spec.IndexOf(':') is var colon and > 0 && StudentZoo.Knows(spec[..colon]))
            (spec, width) = (spec[..colon], Width(spec, colon + 1, "NAME:W")); // the zoo student with every layer's width times W
        if (!StudentZoo.Knows(spec)) throw new CliException($"unknown student '{spec}' (a zoo name: {string.Join(", ", StudentZoo.Names.Concat(ModelZoo.Names))}, optionally NAME:W for its width times W; a model file; or teacher:W)", 2);
        var ts = teacher.InputShape;
        if (ts.Length != 3 || ts[1] != ts[2]) throw new CliException($"zoo students need square [C, N, N] inputs, the teacher's are {ShapeUtil.Format(ts)}", 2);
        var outs = teacher.OutputShapeOfGraph;
        var config = new ModelConfig { InChannels = ts[0], ImageSize = ts[1], NumClasses = ShapeUtil.Numel(outs) };
        try
        {
            var rng = new Rng(seed);
            var net = StudentZoo.Create(spec, config, rng);
            return width is double ww ? WidthScaling.Scale(net, ww, rng) : net;
        }
        catch (ArgumentException e) { throw new CliException(e.Message, 2); }
    }

    /// <summary>
    /// The teacher at another square image size (e.g. an imported ImageNet network whose average pool became
    /// global pooling, run on 32x32 images); one-line error when its graph does not accept that size.
    /// </summary>
    private static GraphModule WithImageSize(GraphModule teacher, int? size)
    {
        var s = teacher.InputShape;
        if (size is not int n || s.Length != 3 || (s[1] == n && s[2] == n)) return teacher;
        var g = teacher.Graph.Clone();
        g.InputShape = [s[0], n, n];
        try { return GraphLayers.FromTensors(g, teacher.StateDict()); }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new CliException($"the teacher's graph does not accept {n}x{n} images ({e.Message}); import it with --global-pool or use its input size {s[1]}x{s[2]}", 2);
        }
    }

    /// <summary>Multiply-accumulates per sample of a model's graph.</summary>
    public static long Macs(GraphModule m)
    {
        var state = m.StateDict();
        return GraphAnalysis.TotalMacs(m.Graph, t => state.TryGetValue(t, out var v) ? v.Shape : null);
    }
}

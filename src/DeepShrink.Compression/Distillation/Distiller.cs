using System.Diagnostics;
using System.Runtime.InteropServices;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Data;
using DeepShrink.Data.Transforms;
using DeepShrink.Format;
using DeepShrink.Nn;
using DeepShrink.Nn.Optim;

namespace DeepShrink.Compression.Distillation;

/// <summary>One epoch of a distillation stage.</summary>
public sealed record DistillEpoch(string Stage, int Epoch, float Loss, double Seconds, long Images)
{
    /// <summary>Measurements added by <see cref="Distiller.OnEpoch"/> (e.g. validation accuracy); kept in checkpoints.</summary>
    public Dictionary<string, double> Metrics { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Trains a student from a frozen teacher: an optional FitNets hint stage (guided layer + regressor
/// regress the teacher's hint layer), then Hinton soft targets, feature matching (MSE/cosine,
/// regression KD on outputs) or attention transfer. Teacher values are cached once per sample when they
/// fit in memory and the images are not augmented, otherwise computed per (augmented) batch without gradient. The teacher's
/// parameters are not in any optimiser and it always runs in eval mode, so it is never updated.
/// </summary>
public sealed class Distiller(GraphModule teacher, GraphModule student, DistillOptions options)
{
    /// <summary>Called after every epoch (before the checkpoint is written, so what it adds to the epoch's metrics is kept).</summary>
    public Action<DistillEpoch>? OnEpoch { get; init; }

    /// <summary>Where to write a <see cref="DistillCheckpoint"/> after every epoch (null: none).</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>
    /// Continue from the checkpoint at <see cref="CheckpointPath"/> when it exists (it must be of the same run, see
    /// <see cref="Fingerprint"/>); when it does not, start from the beginning.
    /// </summary>
    public bool Resume { get; init; }

    /// <summary>Called with the checkpoint a run continues from, before training resumes.</summary>
    public Action<DistillCheckpoint>? OnResume { get; init; }

    /// <summary>The FitNets regressors of the last run, one per hint/guided pair in the order given (empty without hints).</summary>
    public IReadOnlyList<Module> Regressors { get; private set; } = [];

    // one hint/guided pair: the student's guided value, the regressor from it to the hint, the teacher's hint values
    // (with the margin loss, the hint's per-channel margins; null: plain MSE)
    private sealed record HintPair(string Guided, Module Regressor, TeacherCache Hint, float[]? Margins);

    /// <summary>Runs the stages on <paramref name="train"/> and returns the epochs.</summary>
    public List<DistillEpoch> Run(ImageDataset train)
    {
        ArgumentNullException.ThrowIfNull(train);
        options.Validate();
        teacher.Eval();
        var history = new List<DistillEpoch>();
        bool margin = options.HintLoss == "margin";
        var resolved = options.HintPairs.Select(p => (Hint: ResolveValue(teacher, p.Hint, "teacher"), Guided: ResolveValue(student, p.Guided, "student"))).ToList();
        var hintShapes = resolved.Select(p => ValueShape(teacher, p.Hint)).ToList();
        var tValue = options.Objective == DistillObjective.Kd ? teacher.Graph.Output : ResolveValue(teacher, options.TeacherValue ?? teacher.Graph.Output, "teacher");
        var sValue = options.Objective == DistillObjective.Kd ? student.Graph.Output : ResolveValue(student, options.StudentValue ?? student.Graph.Output, "student");
        // a checkpoint to continue is read and checked before the teacher's (long) first pass
        var fingerprint = CheckpointPath is null ? [] : Fingerprint(teacher, student, options, train);
        var resumed = Resume && CheckpointPath is not null && File.Exists(CheckpointPath) ? Open(CheckpointPath, fingerprint) : null;
        var main = new TeacherCache(teacher, train, tValue, ValueShape(teacher, tValue), CacheLimit);
        TeacherCache[] hintCaches = [.. resolved.Select((p, i) => new TeacherCache(teacher, train, p.Hint, hintShapes[i], CacheLimit))];
        // the values that fit in memory (no augmentation) come from one teacher pass for the output and every hint
        TeacherCache.FillAll([main, .. hintCaches]);
        // the margin loss's per-channel margins: from those caches, or all pairs from one more (short) teacher pass
        var margins = margin ? MarginHint.Margins(hintCaches) : null;
        var pairs = resolved.Select((p, i) =>
        {
            var reg = HintRegressor.Create(ValueShape(student, p.Guided), hintShapes[i], RegressorRng(options.Seed, i), batchNorm: margin);
            return new HintPair(p.Guided, reg, hintCaches[i], margins?[i]);
        }).ToList();
        Regressors = [.. pairs.Select(p => p.Regressor)];
        if (resumed is not null) { Restore(resumed, CheckpointPath!); history.AddRange(resumed.History); OnResume?.Invoke(resumed); }
        var run = new RunState(fingerprint, resumed, history);
        var regressorParameters = pairs.SelectMany((p, i) => p.Regressor.NamedParameters(i == 0 ? "regressor." : $"regressor{i}.")).ToList();
        string[] guidedValues = [.. pairs.Select(p => p.Guided).Distinct()];
        if (pairs.Count > 0)
        {
            Stage(run, 0, "hints", train, options.HintEpochs, [(student.NamedParameters().Concat(regressorParameters), 1f)], (x, idx, y) =>
                HintLoss(pairs, student.ForwardValues(x, guidedValues), TeacherCache.GetAll(hintCaches, idx, x), 0), Regressors);
        }
        bool joint = options.HintWeight > 0 && pairs.Count > 0;
        // parameter groups of the main stage: the guided layers (what the hint trained) at GuidedLrScale, the rest at 1
        var groups = new List<(IEnumerable<(string, Tensor)>, float)>();
        if (pairs.Count > 0 && options.GuidedLrScale != 1f)
        {
            var below = new HashSet<Tensor>(guidedValues.SelectMany(g => GuidedParameters(student, g)), ReferenceEqualityComparer.Instance);
            groups.Add((student.NamedParameters().Where(p => below.Contains(p.Item2)), options.GuidedLrScale));
            groups.Add((student.NamedParameters().Where(p => !below.Contains(p.Item2)), 1f));
        }
        else groups.Add((student.NamedParameters(), 1f));
        if (joint) groups.Add((regressorParameters, 1f));
        TeacherCache[] caches = joint ? [main, .. hintCaches] : [main];
        string[] wanted = joint ? [sValue, .. guidedValues] : [sValue];
        Stage(run, 1, options.Objective.ToString().ToLowerInvariant(), train, options.Epochs, groups, (x, idx, y) =>
        {
            var vals = student.ForwardValues(x, wanted);
            var s = vals[sValue];
            var ts = joint ? TeacherCache.GetAll(caches, idx, x) : [main.Get(idx, x)];
            var t = ts[0];
            var l = options.Objective switch
            {
                DistillObjective.Kd => DistillLosses.Hinton(s, t, y, options.Temperature, options.Weight),
                DistillObjective.Features => options.FeatureLoss == "cosine" ? DistillLosses.Cosine(s, t) : DistillLosses.Mse(DistillLosses.Rows(s), DistillLosses.Rows(t)),
                _ => AttentionWithLabels(vals[student.Graph.Output], s, t, y),
            };
            return joint ? Ops.Add(l, Ops.MulScalar(HintLoss(pairs, vals, ts, 1), options.HintWeight)) : l;
        }, joint ? Regressors : []);
        student.Eval();
        return history;
    }

    /// <summary>
    /// The random source that initialises pair <paramref name="pair"/>'s regressor; pair 0's is the one a single hint pair
    /// has always used (so a one-pair run repeats bit for bit).
    /// </summary>
    public static Rng RegressorRng(ulong seed, int pair) => new(seed ^ 0x5EED ^ (0x9E3779B97F4A7C15UL * (ulong)pair));

    // The hint loss: the sum over the pairs of the MSE (or, with margins, the partial L2 to the margin target) between the
    // regressed guided value and the hint value (hints[from + i] is pair i's); one pair is its distance alone.
    private static Tensor HintLoss(List<HintPair> pairs, Dictionary<string, Tensor> student, Tensor[] hints, int from)
    {
        Tensor? sum = null;
        for (int i = 0; i < pairs.Count; i++)
        {
            var p = pairs[i];
            var r = p.Regressor.Forward(student[p.Guided]);
            var d = p.Margins is null ? DistillLosses.Mse(r, hints[from + i]) : MarginHint.PartialL2(r, MarginHint.Target(hints[from + i], p.Margins));
            sum = sum is null ? d : Ops.Add(sum, d);
        }
        return sum!;
    }

    /// <summary>Augmented images differ every epoch, so their teacher values are never cached.</summary>
    private long CacheLimit => options.Augments ? 0 : options.CacheLimitFloats;

    private Tensor AttentionWithLabels(Tensor logits, Tensor s, Tensor t, int[]? y)
    {
        var at = DistillLosses.AttentionTransfer(s, t, options.AttentionBeta);
        return y is null ? at : Ops.Add(Ops.CrossEntropy(logits, y), at);
    }

    /// <summary>
    /// The student's parameters that <paramref name="guided"/> depends on: those of the node producing it and of every node
    /// upstream of it (the layers a hint trains).
    /// </summary>
    public static HashSet<Tensor> GuidedParameters(GraphModule student, string guided)
    {
        var g = student.Graph;
        var producer = new Dictionary<string, GraphNode>();
        foreach (var n in g.Nodes) foreach (var o in n.Outputs) producer[o] = n;
        var seen = new HashSet<string>();
        var stack = new Stack<string>([guided]);
        var result = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        while (stack.TryPop(out var v))
        {
            if (!producer.TryGetValue(v, out var node) || !seen.Add(node.Name)) continue;
            if (student.Layer(node.Name) is { } layer) foreach (var (_, p) in layer.NamedParameters()) result.Add(p);
            foreach (var i in node.Inputs) stack.Push(i);
        }
        return result;
    }

    // what a stage needs to continue a checkpoint and to write one: the run's fingerprint, the checkpoint it continues
    // (null: from the start), the epochs so far
    private sealed record RunState(IReadOnlyList<KeyValuePair<string, string>> Fingerprint, DistillCheckpoint? Resumed, List<DistillEpoch> History);

    /// <summary>
    /// What identifies a run for <see cref="Resume"/>: every option, the student's parameter and buffer names and shapes,
    /// CRC-32C checksums (<see cref="DszChecksum"/>) of the teacher's weights and of the training set (its size, labels and
    /// images).
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Fingerprint(GraphModule teacher, GraphModule student, DistillOptions options, ImageDataset train)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var list = new List<KeyValuePair<string, string>>();
        foreach (var prop in typeof(DistillOptions).GetProperties().Where(p => p.CanWrite).OrderBy(p => p.Name, StringComparer.Ordinal))
            list.Add(KeyValuePair.Create(prop.Name, Convert.ToString(prop.GetValue(options), inv) ?? "null"));
        list.Add(KeyValuePair.Create("student", string.Join(";", student.StateDict().OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}{ShapeUtil.Format(p.Value.Shape)}"))));
        uint th = DszChecksum.Start;
        foreach (var (k, t) in teacher.StateDict().OrderBy(p => p.Key, StringComparer.Ordinal))
            th = DszChecksum.Append(DszChecksum.Append(th, System.Text.Encoding.UTF8.GetBytes(k)), MemoryMarshal.AsBytes(t.ContiguousData().Span));
        list.Add(KeyValuePair.Create("teacher", DszChecksum.Finish(th).ToString("x8", inv)));
        uint dh = DszChecksum.Start;
        var sample = new float[train.SampleSize];
        Span<int> label = stackalloc int[1];
        for (int i = 0; i < train.Count; i++)
        {
            label[0] = train.Label(i);
            train.CopySample(i, sample);
            dh = DszChecksum.Append(DszChecksum.Append(dh, MemoryMarshal.AsBytes(label)), MemoryMarshal.AsBytes(sample.AsSpan()));
        }
        list.Add(KeyValuePair.Create("training images", $"{train.Count} ({DszChecksum.Finish(dh).ToString("x8", inv)})"));
        return list;
    }

    // reads the checkpoint and checks that it is this run's
    private static DistillCheckpoint Open(string path, IReadOnlyList<KeyValuePair<string, string>> fingerprint)
    {
        var ck = DistillCheckpoint.Load(path);
        if (ck.Difference(fingerprint) is { } diff)
            throw new ArgumentException($"checkpoint {path} is of another run ({diff}); continue it with the same options and data, or remove it");
        return ck;
    }

    // loads the student and the regressors from the checkpoint
    private void Restore(DistillCheckpoint ck, string path)
    {
        if (ck.Regressors.Count != Regressors.Count)
            throw new ArgumentException($"checkpoint {path} has {ck.Regressors.Count} regressor(s), this run {Regressors.Count}");
        try
        {
            student.LoadStateDict(ck.Student);
            for (int i = 0; i < Regressors.Count; i++) Regressors[i].LoadStateDict(ck.Regressors[i]);
        }
        catch (ArgumentException e) { throw new ArgumentException($"checkpoint {path} does not fit this run: {e.Message}"); }
    }

    private Optimizer MakeOptimizer(List<(string, Tensor)> ps, float lr) => options.Optimizer switch
    {
        "sgd" => new Sgd(ps, lr, options.Momentum, options.WeightDecay, nesterov: options.Momentum > 0),
        "adam" => new Adam(ps, lr, weightDecay: options.WeightDecay),
        "adamw" => Adam.AdamW(ps, lr, options.WeightDecay),
        _ => throw new ArgumentException($"unknown optimizer '{options.Optimizer}' (sgd, adam, adamw)"),
    };

    // groups: parameters with their learning-rate factor (a factor of 0 leaves them out: frozen)
    private void Stage(RunState run, int stageIndex, string name, ImageDataset train, int epochs, IEnumerable<(IEnumerable<(string, Tensor)> Params, float LrScale)> groups,
        Func<Tensor, int[], int[]?, Tensor> loss, IReadOnlyList<Module> extra)
    {
        if (epochs == 0) return;
        int first = 0;
        if (run.Resumed is { } ck)
        {
            if (ck.Stage > stageIndex) return; // this stage was over when the checkpoint was written
            if (ck.Stage == stageIndex) first = Math.Min(ck.EpochsDone, epochs);
        }
        var opts = new List<Optimizer>();
        var frozen = new List<Tensor>();
        foreach (var (gp, scale) in groups)
        {
            var ps = gp.ToList();
            if (scale > 0 && ps.Count > 0) opts.Add(MakeOptimizer(ps, options.Lr * scale));
            else frozen.AddRange(ps.Select(p => p.Item2));
        }
        var schedule = new WarmupLr(Math.Min(options.WarmupEpochs, epochs), new CosineLr(epochs));
        var loader = new DataLoader(train, new DataLoaderOptions { BatchSize = options.BatchSize, Seed = options.Seed });
        int bpe = loader.BatchesPerEpoch, c = train.Channels, h = train.Height, w = train.Width, ss = train.SampleSize;
        var transforms = Augmentation.Of(options.CropPadding, options.Flip);
        var scratch = new float[ss];
        if (first > 0)
        {
            var saved = run.Resumed!.Optimizers;
            if (saved.Count != opts.Count) throw new ArgumentException($"the checkpoint has {saved.Count} optimiser(s) for {name}, this run {opts.Count}");
            for (int k = 0; k < opts.Count; k++) opts[k].LoadState(saved[k]);
        }
        for (int e = first; e < epochs; e++)
        {
            student.Train();
            foreach (var m in extra) m.Train();
            var sw = Stopwatch.StartNew();
            var order = loader.Order(e);
            var augRng = new Rng(options.Seed ^ (0x9E3779B97F4A7C15UL * (ulong)(e + 1)) ^ (name == "hints" ? 0xD1B54A32D192ED03UL : 0));
            double lossSum = 0; long seen = 0;
            for (int start = 0, b = 0; start < order.Length; start += options.BatchSize, b++)
            {
                var idx = order.AsSpan(start, Math.Min(options.BatchSize, order.Length - start)).ToArray();
                var x = new Tensor(idx.Length, c, h, w);
                var labels = options.IgnoreLabels ? null : new int[idx.Length];
                for (int i = 0; i < idx.Length; i++)
                {
                    var sample = x.Span.Slice(i * ss, ss);
                    train.CopySample(idx[i], sample);
                    foreach (var t in transforms) t.Apply(sample, c, h, w, augRng, scratch);
                    if (labels is not null) labels[i] = train.Label(idx[i]);
                }
                float factor = schedule.Factor(e + (double)b / bpe);
                foreach (var opt in opts) opt.LearningRate = opt.BaseLearningRate * factor;
                var l = loss(x, idx, labels);
                float lv = l.Item();
                if (!float.IsFinite(lv)) throw new InvalidOperationException($"distillation diverged: loss is {lv} at {name} epoch {e + 1}, batch {b + 1} (try a lower learning rate)");
                foreach (var opt in opts) opt.ZeroGrad();
                foreach (var p in frozen) p.Grad = null; // never stepped; only keeps gradients from piling up
                l.Backward();
                foreach (var opt in opts) opt.Step();
                lossSum += lv * idx.Length; seen += idx.Length;
            }
            var st = new DistillEpoch(name, e, seen > 0 ? (float)(lossSum / seen) : 0f, sw.Elapsed.TotalSeconds, seen);
            run.History.Add(st);
            OnEpoch?.Invoke(st);
            if (CheckpointPath is not null)
                new DistillCheckpoint
                {
                    Stage = stageIndex, EpochsDone = e + 1, Fingerprint = run.Fingerprint, History = [.. run.History],
                    Student = student.StateDict(), Regressors = [.. Regressors.Select(r => (IReadOnlyDictionary<string, Tensor>)r.StateDict())],
                    Optimizers = [.. opts.Select(o => (IReadOnlyDictionary<string, float[]>)o.SaveState())],
                }.Save(CheckpointPath);
        }
        student.Eval();
    }

    /// <summary>
    /// The graph value a user names: a value name, or a node name (its first output, e.g. <c>relu4</c>).
    /// One-line <see cref="ArgumentException"/> listing the node names when neither exists.
    /// </summary>
    public static string ResolveValue(GraphModule model, string name, string who)
    {
        var g = model.Graph;
        if (name == g.Input || g.Nodes.Any(n => n.Outputs.Contains(name))) return name;
        if (g.Find(name) is { } node) return node.Outputs[0];
        throw new ArgumentException($"{who} has no value or node '{name}' (nodes: {string.Join(", ", g.Nodes.Select(n => n.Name).Take(40))}{(g.Nodes.Count > 40 ? ", ..." : "")})");
    }

    /// <summary>Per-sample shape of a value of a model.</summary>
    public static int[] ValueShape(GraphModule model, string value)
    {
        var state = model.StateDict();
        GraphAnalysis.Analyze(model.Graph, t => state.TryGetValue(t, out var v) ? v.Shape : null, out var shapes);
        return shapes[value];
    }
}

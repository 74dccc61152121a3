using DeepShrink.Compression.Distillation;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Data;
using DeepShrink.Nn;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Compression.Tests;

/// <summary>The hint kept as a term of the main stage (<see cref="DistillOptions.HintWeight"/>) and the guided layers' learning rate.</summary>
public class HintTermTests
{
    private static GraphModule Net(ulong seed, int hidden) => DistillationFamilyTests.RegressionNet(seed, hidden);

    internal static ImageDataset Labelled(int n, ulong seed)
    {
        var rng = new Rng(seed);
        var x = Tensor.Uniform(rng, -1f, 1f, n, 1, 4, 4);
        var y = Enumerable.Range(0, n).Select(i => (int)(rng.NextUInt64() % 3)).ToArray();
        return new ImageDataset(x, y, 3);
    }

    private static Dictionary<string, float[]> Snapshot(Module m) => m.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    [Fact]
    public void JointLoss_IsTheKdLossPlusWeightedHintMse_ComputedByHand()
    {
        const int n = 40; const float lambda = 2.5f;
        var teacher = Net(1, 16);
        var data = Labelled(n, 3);
        var opts = new DistillOptions
        {
            Hint = "relu", Guided = "relu", HintEpochs = 0, HintWeight = lambda, Epochs = 1, BatchSize = n, WeightDecay = 0, Seed = 5,
        };
        // one batch of every sample: the epoch's loss is the loss at the initial weights
        var h = new Distiller(teacher, Net(2, 6), opts).Run(data);
        Assert.Single(h);

        var reg = HintRegressor.Create([6], [16], Distiller.RegressorRng(opts.Seed, 0));
        var (guided, hints, kd) = AtInitialWeights(teacher, Net(2, 6), data, opts, ["relu"], ["relu"]); // the same initialisation
        double mse = RegressorMseByHand(reg, guided[0], hints[0]);
        double expected = kd + lambda * mse;
        Assert.True(mse > 0);
        Assert.Equal(expected, h[0].Loss, 1e-4 * expected);
        // weight 0 is the plain KD stage (no hint term)
        var plain = new Distiller(teacher, Net(2, 6), opts with { HintWeight = 0, HintEpochs = 1 }).Run(data);
        Assert.Equal(kd, plain.Single(e => e.Stage == "kd").Loss, 1e-4 * kd);
    }

    /// <summary>
    /// By hand, at the student's initial weights (one batch of every sample, so a one-epoch run's loss): the student's
    /// guided values, the teacher's hint values (names resolved as the distiller resolves them) and the KD loss.
    /// </summary>
    internal static (Tensor[] Guided, Tensor[] Hints, double Kd) AtInitialWeights(GraphModule teacher, GraphModule student, ImageDataset data,
        DistillOptions opts, string[] guided, string[] hints)
    {
        student.Train();
        teacher.Eval();
        string[] sg = [.. guided.Select(v => Distiller.ResolveValue(student, v, "student"))];
        string[] th = [.. hints.Select(v => Distiller.ResolveValue(teacher, v, "teacher"))];
        Dictionary<string, Tensor> sv, tv;
        using (Engine.NoGrad())
        {
            sv = student.ForwardValues(data.Images, [.. sg, student.Graph.Output]);
            tv = teacher.ForwardValues(data.Images, [.. th, teacher.Graph.Output]);
        }
        double kd = DistillLosses.Hinton(sv[student.Graph.Output], tv[teacher.Graph.Output], data.Labels.ToArray(), opts.Temperature, opts.Weight).Item();
        return ([.. sg.Select(v => sv[v])], [.. th.Select(v => tv[v])], kd);
    }

    // mean over samples and teacher units of (W g + b - u)^2 of a linear regressor
    private static double RegressorMseByHand(Module reg, Tensor guided, Tensor hint)
    {
        var g = guided.ToArray(); var u = hint.ToArray();
        var w = reg.StateDict()["weight"].ToArray(); var bias = reg.StateDict()["bias"].ToArray();
        int n = guided.Shape[0], inDim = guided.Shape[1], outDim = hint.Shape[1];
        double sq = 0;
        for (int i = 0; i < n; i++)
            for (int o = 0; o < outDim; o++)
            {
                double r = bias[o];
                for (int k = 0; k < inDim; k++) r += (double)w[o * inDim + k] * g[i * inDim + k];
                double d = r - u[i * outDim + o];
                sq += d * d;
            }
        return sq / (n * outDim);
    }

    [Fact]
    public void TwoPairs_LossIsTheKdLossPlusWeightTimesTheSumOfBothRegressorsMse_ComputedByHand()
    {
        const int n = 40; const float lambda = 1.5f;
        var teacher = Net(1, 16);
        var data = Labelled(n, 3);
        // pair 0: teacher relu [16] <- student bn [6]; pair 1: teacher fc1 [16] <- student relu [6]
        var opts = new DistillOptions
        {
            Hint = "relu,fc1", Guided = "bn, relu", HintEpochs = 0, HintWeight = lambda, Epochs = 1, BatchSize = n, WeightDecay = 0, Seed = 9,
        };
        var d = new Distiller(teacher, Net(2, 6), opts);
        var h = d.Run(data);
        Assert.Single(h);
        Assert.Equal(2, d.Regressors.Count);

        var (guided, hints, kd) = AtInitialWeights(teacher, Net(2, 6), data, opts, ["bn", "relu"], ["relu", "fc1"]);
        double m0 = RegressorMseByHand(HintRegressor.Create([6], [16], Distiller.RegressorRng(opts.Seed, 0)), guided[0], hints[0]);
        double m1 = RegressorMseByHand(HintRegressor.Create([6], [16], Distiller.RegressorRng(opts.Seed, 1)), guided[1], hints[1]);
        Assert.True(m0 > 0 && m1 > 0);
        double expected = kd + lambda * (m0 + m1);
        Assert.Equal(expected, h[0].Loss, 1e-4 * expected);

        // the first pair alone is exactly the single-hint run: KD + lambda x m0
        var single = new Distiller(teacher, Net(2, 6), opts with { Hint = "relu", Guided = "bn" }).Run(data);
        Assert.Equal(kd + lambda * m0, single[0].Loss, 1e-4 * expected);

        // both pairs in a hint stage train both regressors and every guided layer; the teacher stays as it was
        var before = Snapshot(teacher);
        var staged = new Distiller(teacher, Net(2, 6), opts with { HintEpochs = 3, HintWeight = 0, Epochs = 0, BatchSize = 8, Lr = 0.02f });
        var hs = staged.Run(data);
        Assert.True(hs[^1].Loss < hs[0].Loss, $"two-pair hint loss {hs[0].Loss:G3} -> {hs[^1].Loss:G3}");
        Assert.NotEqual(HintRegressor.Create([6], [16], Distiller.RegressorRng(opts.Seed, 1)).StateDict()["weight"].ToArray(),
            staged.Regressors[1].StateDict()["weight"].ToArray());
        foreach (var (k, v) in teacher.StateDict()) Assert.Equal(before[k], v.ToArray());
    }

    [Fact]
    public void JointRun_NeverUpdatesTheTeacher_AndTrainsTheRegressorOn()
    {
        var teacher = Net(1, 16);
        var before = Snapshot(teacher);
        var opts = new DistillOptions { Hint = "relu", Guided = "relu", HintEpochs = 2, HintWeight = 1f, Epochs = 3, BatchSize = 16, Seed = 7, CropPadding = 1 };
        var regAfterHints = new Dictionary<string, float[]>();
        Distiller d = null!;
        d = new Distiller(teacher, Net(2, 6), opts)
        {
            OnEpoch = e => { if (e.Stage == "hints" && e.Epoch == 1) regAfterHints = Snapshot(d.Regressors[0]); },
        };
        var h = d.Run(Labelled(64, 4));
        Assert.Equal(["hints", "hints", "kd", "kd", "kd"], h.Select(e => e.Stage));
        foreach (var (k, v) in teacher.StateDict()) Assert.Equal(before[k], v.ToArray()); // weights and BN running statistics
        Assert.False(teacher.Training);
        Assert.NotEmpty(regAfterHints);
        Assert.NotEqual(regAfterHints["weight"], d.Regressors[0].StateDict()["weight"].ToArray()); // the main stage trained it on
    }

    [Fact]
    public void GuidedParameters_AreTheLayersTheGuidedValueDependsOn()
    {
        var s = Net(2, 6);
        var set = Distiller.GuidedParameters(s, Distiller.ResolveValue(s, "relu", "student"));
        var names = s.NamedParameters().Where(p => set.Contains(p.Item2)).Select(p => p.Item1).Order().ToList();
        Assert.Equal(["bn.bias", "bn.weight", "fc1.bias", "fc1.weight"], names);
        Assert.Equal(4, set.Count);
    }

    [Fact]
    public void FrozenGuidedLayers_StayBitIdentical_WhileTheRestTrains()
    {
        var teacher = Net(1, 16);
        var student = Net(2, 6);
        var start = Snapshot(student);
        var opts = new DistillOptions { Hint = "relu", Guided = "relu", HintEpochs = 0, HintWeight = 1f, GuidedLrScale = 0f, Epochs = 3, BatchSize = 16, Seed = 3 };
        new Distiller(teacher, student, opts).Run(Labelled(64, 8));
        var end = Snapshot(student);
        foreach (var k in new[] { "fc1.weight", "fc1.bias", "bn.weight", "bn.bias" }) Assert.Equal(start[k], end[k]);
        Assert.NotEqual(start["fc2.weight"], end["fc2.weight"]);
        Assert.NotEqual(start["bn.running_mean"], end["bn.running_mean"]); // documented: running statistics still follow the data

        // a scale between 0 and 1 moves them (after a hint epoch), less far than the full rate does
        double Moved(float scale)
        {
            var st = Net(2, 6);
            new Distiller(teacher, st, opts with { GuidedLrScale = scale, HintWeight = 0, HintEpochs = 1 }).Run(Labelled(64, 8));
            var w = st.StateDict()["fc1.weight"].ToArray();
            return w.Zip(start["fc1.weight"], (a, b) => Math.Abs(a - b)).Sum();
        }
        double small = Moved(0.1f), full = Moved(1f);
        Assert.True(small > 0 && small < full, $"moved {small:G3} at lr x 0.1, {full:G3} at lr x 1");
    }

    [Fact]
    public void GetAll_RunsTheTeacherOnceForEveryUncachedValue()
    {
        var teacher = Net(1, 8);
        var data = Labelled(20, 2);
        var a = new TeacherCache(teacher, data, teacher.Graph.Output, [3], 0).Fill();
        var b = new TeacherCache(teacher, data, Distiller.ResolveValue(teacher, "relu", "teacher"), [8], 0).Fill();
        int[] idx = [1, 5, 9];
        var x = new Tensor(3, 1, 4, 4);
        for (int i = 0; i < 3; i++) data.CopySample(idx[i], x.Span.Slice(i * 16, 16));
        var both = TeacherCache.GetAll([a, b], idx, x);
        Assert.Equal(1, a.TeacherBatches + b.TeacherBatches);
        Assert.Equal(a.Get(idx, x).ToArray(), both[0].ToArray());
        Assert.Equal(b.Get(idx, x).ToArray(), both[1].ToArray());
        var cached = new TeacherCache(teacher, data, teacher.Graph.Output, [3], 1 << 20).Fill();
        Assert.Equal(2, TeacherCache.GetAll([cached, b], idx, x).Length);
    }

    [Fact]
    public void FillAll_CachesEveryValueFromOneTeacherPass()
    {
        var teacher = Net(1, 8);
        var data = Labelled(20, 2);
        var relu = Distiller.ResolveValue(teacher, "relu", "teacher");
        var a = new TeacherCache(teacher, data, teacher.Graph.Output, [3], 1 << 20);
        var b = new TeacherCache(teacher, data, relu, [8], 1 << 20);
        var tooBig = new TeacherCache(teacher, data, relu, [8], 10);
        TeacherCache.FillAll([a, b, tooBig], batchSize: 8);
        Assert.True(a.Cached && b.Cached && !tooBig.Cached);
        Assert.Equal(3, a.TeacherBatches + b.TeacherBatches + tooBig.TeacherBatches); // 20 images, batches of 8: one pass
        // the same values as each cache filled on its own and as the teacher computes per batch
        var aloneA = new TeacherCache(teacher, data, teacher.Graph.Output, [3], 1 << 20).Fill(8);
        var aloneB = new TeacherCache(teacher, data, relu, [8], 1 << 20).Fill(8);
        int[] idx = [0, 7, 19];
        var x = new Tensor(3, 1, 4, 4);
        for (int i = 0; i < 3; i++) data.CopySample(idx[i], x.Span.Slice(i * 16, 16));
        Assert.Equal(aloneA.Get(idx, x).ToArray(), a.Get(idx, x).ToArray());
        Assert.Equal(aloneB.Get(idx, x).ToArray(), b.Get(idx, x).ToArray());
        Assert.Equal(tooBig.Get(idx, x).ToArray(), b.Get(idx, x).ToArray());
        Assert.Throws<ArgumentException>(() => TeacherCache.FillAll([new TeacherCache(teacher, data, relu, [8], 1 << 20),
            new TeacherCache(Net(1, 8), data, relu, [8], 1 << 20)]));
    }

    [Fact]
    public void Validation_NamesTheMissingPieces()
    {
        var ok = new DistillOptions { Hint = "relu", Guided = "relu", HintEpochs = 0, HintWeight = 1f };
        ok.Validate(); // the hint as a term only
        Assert.Throws<ArgumentException>(() => (ok with { HintWeight = 0 }).Validate());
        Assert.Throws<ArgumentException>(() => (ok with { HintWeight = -1 }).Validate());
        Assert.Throws<ArgumentException>(() => (ok with { GuidedLrScale = -0.5f }).Validate());
        Assert.Throws<ArgumentException>(() => new DistillOptions { HintWeight = 1 }.Validate());
        Assert.Throws<ArgumentException>(() => new DistillOptions { GuidedLrScale = 0 }.Validate());
        var lengths = Assert.Throws<ArgumentException>(() => (ok with { Hint = "relu2,relu4", Guided = "relu3" }).Validate());
        Assert.Contains("2 hint layer(s) (relu2,relu4) but 1 guided layer(s) (relu3)", lengths.Message);
        Assert.DoesNotContain('\n', lengths.Message);
        Assert.Throws<ArgumentException>(() => (ok with { Hint = "relu2,", Guided = "relu3,relu6" }).Validate());
        Assert.Equal([("relu2", "relu3"), ("relu4", "relu6")], (ok with { Hint = "relu2,relu4", Guided = "relu3, relu6" }).HintPairs);
    }

    [Fact]
    public void FitNetDeep_IsTwiceAsDeepAsFitNetThin_AndUnderAThirdOfVggSmall()
    {
        var cfg = new ModelConfig { ImageSize = 28 };
        var deep = StudentZoo.Create("fitnet-deep", cfg, new Rng(1));
        var thin = StudentZoo.Create("fitnet-thin", cfg, new Rng(1));
        var vgg = StudentZoo.Create("vgg-small", cfg, new Rng(1));
        Assert.Equal(18, deep.Layers().Count(l => l.Layer is Conv2d));
        Assert.Equal(9, thin.Layers().Count(l => l.Layer is Conv2d));
        Assert.True(deep.ParameterCount() * 3 <= vgg.ParameterCount(), $"{deep.ParameterCount()} vs {vgg.ParameterCount()}");
        Assert.Equal([32, 14, 14], Distiller.ValueShape(deep, Distiller.ResolveValue(deep, "relu12", "student"))); // end of stage 2
        Assert.Equal([2, 10], deep.Forward(Tensor.Uniform(new Rng(3), -1f, 1f, 2, 1, 28, 28)).Shape);
    }
    [Fact]
    public void FitNetDeeper_IsThreeTimesAsDeepAsFitNetThin_AndUnderAThirdOfVggSmallAtThreeQuartersWidth()
    {
        var cfg = new ModelConfig { ImageSize = 28 };
        var deeper = StudentZoo.Create("fitnet-deeper", cfg, new Rng(1));
        var vgg = StudentZoo.Create("vgg-small", cfg, new Rng(1));
        Assert.Equal(27, deeper.Layers().Count(l => l.Layer is Conv2d));
        var narrow = WidthScaling.Scale(deeper, 0.75, new Rng(1));
        Assert.Equal(27, narrow.Layers().Count(l => l.Layer is Conv2d));
        Assert.True(narrow.ParameterCount() * 3 <= vgg.ParameterCount(), $"{narrow.ParameterCount()} vs {vgg.ParameterCount()}");
        Assert.True(deeper.ParameterCount() * 3 > vgg.ParameterCount()); // full width is over the third
        foreach (var (guided, shape) in new[] { ("relu9", new[] { 12, 28, 28 }), ("relu18", new[] { 24, 14, 14 }), ("relu27", new[] { 36, 7, 7 }) })
            Assert.Equal(shape, Distiller.ValueShape(narrow, Distiller.ResolveValue(narrow, guided, "student"))); // stage ends
        Assert.Equal([2, 10], narrow.Forward(Tensor.Uniform(new Rng(3), -1f, 1f, 2, 1, 28, 28)).Shape);
    }
}

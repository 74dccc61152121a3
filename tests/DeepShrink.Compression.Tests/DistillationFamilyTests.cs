using DeepShrink.Compression.Distillation;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Data;
using DeepShrink.Nn;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Compression.Tests;

public class DistillationFamilyTests
{
    private static double[] Softmax(double[] z, double t)
    {
        var e = z.Select(v => Math.Exp(v / t)).ToArray();
        double s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }

    [Theory]
    [InlineData(1.0, 0.7)]
    [InlineData(2.0, 0.7)]
    [InlineData(4.0, 1.0)]
    [InlineData(8.0, 0.3)]
    public void Hinton_LossAndGradient_MatchHandComputation(double t, double w)
    {
        double[] zs = [1.0, 2.0, 0.0, -1.0], zt = [0.5, 1.0, 3.0, 0.0];
        const int label = 2;
        var student = new Tensor(zs.Select(v => (float)v).ToArray(), 1, 4) { RequiresGrad = true };
        var teacher = new Tensor(zt.Select(v => (float)v).ToArray(), 1, 4);
        var loss = DistillLosses.Hinton(student, teacher, [label], (float)t, (float)w);
        loss.Backward();

        // by hand: (1-w) CE(zs, y) + w T^2 KL(pt || ps), gradient (1-w)(softmax(zs) - onehot) + w T (ps - pt)
        var p1 = Softmax(zs, 1); var ps = Softmax(zs, t); var pt = Softmax(zt, t);
        double kl = 0; for (int j = 0; j < 4; j++) kl += pt[j] * Math.Log(pt[j] / ps[j]);
        double expected = (1 - w) * -Math.Log(p1[label]) + w * t * t * kl;
        Assert.Equal(expected, loss.Item(), 4);
        var g = student.Grad!.ToArray();
        for (int j = 0; j < 4; j++)
        {
            double hand = (1 - w) * (p1[j] - (j == label ? 1 : 0)) + w * t * (ps[j] - pt[j]);
            Assert.Equal(hand, g[j], 4);
        }
    }

    [Fact]
    public void Soft_WithoutLabels_IsTheScaledKl_AndGradientChecks()
    {
        var rng = new Rng(3);
        var zs = Tensor.Uniform(rng, -2f, 2f, 3, 5); zs.RequiresGrad = true;
        var zt = Tensor.Uniform(rng, -2f, 2f, 3, 5);
        Assert.Equal(DistillLosses.Soft(zs, zt, 3f).Item(), DistillLosses.Hinton(zs, zt, null, 3f, 0.2f).Item(), 6);
        var r = GradCheck.Check(x => DistillLosses.Soft(x[0], zt, 3f), [zs]);
        Assert.True(r.Ok, $"gradient mismatch (ratio {r.WorstRatio:G3}) at {r.Where}");
    }

    [Fact]
    public void Cosine_IsZeroForParallelFeatures_AndGradientChecks()
    {
        var rng = new Rng(5);
        var t = Tensor.Uniform(rng, -1f, 1f, 4, 6);
        var scaled = Ops.MulScalar(t, 3f);
        Assert.True(Math.Abs(DistillLosses.Cosine(scaled, t).Item()) < 1e-5f);
        Assert.Equal(2f, DistillLosses.Cosine(Ops.Neg(t), t).Item(), 4);
        var s = Tensor.Uniform(rng, -1f, 1f, 4, 6); s.RequiresGrad = true;
        var r = GradCheck.Check(x => DistillLosses.Cosine(x[0], t), [s]);
        Assert.True(r.Ok, $"gradient mismatch (ratio {r.WorstRatio:G3}) at {r.Where}");
    }

    [Fact]
    public void AttentionTransfer_ComparesSpatialMapsAcrossChannelCounts()
    {
        var rng = new Rng(9);
        var teacher = Tensor.Uniform(rng, -1f, 1f, 2, 6, 4, 4);
        // a student with 2 channels whose channel energy equals the teacher's, up to scale, has the same map
        var tMap = Ops.Sum(Ops.Square(teacher), 1, keepDim: true);
        var student = Ops.Concat(1, Ops.Sqrt(tMap), Ops.Sqrt(tMap));
        Assert.True(DistillLosses.AttentionTransfer(student, teacher).Item() < 1e-4f);
        var s = Tensor.Uniform(rng, -1f, 1f, 2, 3, 4, 4); s.RequiresGrad = true;
        Assert.True(DistillLosses.AttentionTransfer(s, teacher).Item() > 1e-3f);
        var r = GradCheck.Check(x => DistillLosses.AttentionTransfer(x[0], teacher), [s]);
        Assert.True(r.Ok, $"gradient mismatch (ratio {r.WorstRatio:G3}) at {r.Where}");
        Assert.Throws<ArgumentException>(() => DistillLosses.AttentionTransfer(Tensor.Uniform(rng, -1f, 1f, 2, 3, 2, 2), teacher));
    }

    [Theory]
    [InlineData(new[] { 8, 7, 7 }, new[] { 16, 7, 7 })]
    [InlineData(new[] { 8, 14, 14 }, new[] { 32, 7, 7 })]
    [InlineData(new[] { 10 }, new[] { 20 })]
    public void Regressor_MapsGuidedShapeToHintShape(int[] student, int[] teacher)
    {
        var reg = HintRegressor.Create(student, teacher, new Rng(1));
        var y = reg.Forward(new Tensor([3, .. student]));
        Assert.Equal([3, .. teacher], y.Shape);
        Assert.IsType(student.Length == 1 ? typeof(Linear) : typeof(Conv2d), reg);
    }

    [Fact]
    public void Regressor_RejectsShapesNoMapBridges()
    {
        Assert.Throws<ArgumentException>(() => HintRegressor.Create([8, 7, 7], [16, 14, 14], new Rng(1)));
        Assert.Throws<ArgumentException>(() => HintRegressor.Create([8, 7, 7], [16], new Rng(1)));
    }

    /// <summary>flatten -> fc1 -> batch norm -> relu -> fc2 (3 outputs) on [1, 4, 4] inputs.</summary>
    internal static GraphModule RegressionNet(ulong seed, int hidden)
    {
        var b = new NetBuilder([1, 4, 4], new Rng(seed));
        var v = b.Op("flatten", "flatten", b.Input, new() { ["start_axis"] = 1 });
        v = b.BatchNorm("bn", b.Linear("fc1", v, hidden));
        v = b.Op("relu", "relu", v);
        return b.Finish(b.Linear("fc2", v, 3));
    }

    private static ImageDataset Unlabelled(int n, ulong seed)
        => new(Tensor.Uniform(new Rng(seed), -1f, 1f, n, 1, 4, 4), new int[n], 1);

    [Fact]
    public void FeatureDistillation_OnRegressionOutputs_FitsTheTeacher_AndNeverUpdatesIt()
    {
        var teacher = RegressionNet(1, 16);
        var before = teacher.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var student = RegressionNet(2, 32);
        var train = Unlabelled(512, 3);
        var test = Unlabelled(128, 4);
        double Gap()
        {
            using var _ = Engine.NoGrad();
            teacher.Eval(); student.Eval();
            return Ops.Mse(student.Forward(test.Images), teacher.Forward(test.Images)).Item();
        }
        double start = Gap();
        var opts = new DistillOptions { Objective = DistillObjective.Features, Epochs = 15, Lr = 0.05f, BatchSize = 32, WeightDecay = 0, IgnoreLabels = true };
        new Distiller(teacher, student, opts).Run(train);
        double end = Gap();
        Assert.True(end < start / 10, $"student output MSE to the teacher {start:G3} -> {end:G3}");
        foreach (var (k, v) in teacher.StateDict()) Assert.Equal(before[k], v.ToArray()); // weights and BN running statistics
        Assert.False(teacher.Training);
    }

    [Fact]
    public void TeacherCache_RunsTheTeacherOncePerSample_AndMatchesDirectOutputs()
    {
        var teacher = RegressionNet(1, 8);
        var data = Unlabelled(100, 5);
        var cache = new TeacherCache(teacher, data, teacher.Graph.Output, [3], 1 << 20).Fill(batchSize: 50);
        Assert.True(cache.Cached);
        Assert.Equal(2, cache.TeacherBatches);
        int[] idx = [7, 3, 99];
        var x = new Tensor(3, 1, 4, 4);
        for (int i = 0; i < 3; i++) data.CopySample(idx[i], x.Span.Slice(i * 16, 16));
        var got = cache.Get(idx, x).ToArray();
        Tensor direct;
        using (Engine.NoGrad()) direct = teacher.Forward(x);
        AssertClose(direct.ToArray(), got);
        Assert.Equal(2, cache.TeacherBatches);
        var small = new TeacherCache(teacher, data, teacher.Graph.Output, [3], 10).Fill();
        Assert.False(small.Cached);
        Assert.Equal(direct.ToArray(), small.Get(idx, x).ToArray());
    }

    private static void AssertClose(float[] expected, float[] actual)
    {   // the cached values come from batches of 50, the direct ones from a batch of 3 (GEMM blocking may round differently)
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f * (1 + Math.Abs(expected[i])), $"[{i}] {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void Augmentation_FeedsTheTeacherTheSameAugmentedImages_AndIsSeeded()
    {
        // the student sees flipped and shifted images; it can only fit the teacher if the teacher's targets come
        // from those same images (a cache of the unaugmented images' values would not be fittable)
        var teacher = RegressionNet(1, 16);
        var train = Unlabelled(512, 3);
        var test = Unlabelled(128, 4);
        var opts = new DistillOptions
        {
            Objective = DistillObjective.Features, Epochs = 30, Lr = 0.05f, BatchSize = 32, WeightDecay = 0, IgnoreLabels = true,
            CropPadding = 1, Flip = true, Seed = 9,
        };
        GraphModule Distil(DistillOptions o)
        {
            var student = RegressionNet(2, 32);
            new Distiller(teacher, student, o).Run(train);
            return student;
        }
        double Gap(GraphModule s)
        {
            using var _ = Engine.NoGrad();
            teacher.Eval(); s.Eval();
            return Ops.Mse(s.Forward(test.Images), teacher.Forward(test.Images)).Item();
        }
        double start = Gap(RegressionNet(2, 32));
        var a = Distil(opts);
        Assert.True(Gap(a) < start / 20, $"student output MSE to the teacher {start:G3} -> {Gap(a):G3}");
        var again = Distil(opts);
        foreach (var (k, v) in a.StateDict()) Assert.Equal(v.ToArray(), again.StateDict()[k].ToArray());
        var plain = Distil(opts with { CropPadding = 0, Flip = false });
        Assert.NotEqual(a.StateDict()["fc1.weight"].ToArray(), plain.StateDict()["fc1.weight"].ToArray());
        Assert.Throws<ArgumentException>(() => (opts with { CropPadding = 17 }).Validate());
    }

    [Fact]
    public void Hints_TrainTheGuidedLayerThroughTheRegressor()
    {
        var teacher = RegressionNet(1, 16);
        var student = RegressionNet(2, 6);
        var train = Unlabelled(256, 6);
        var opts = new DistillOptions
        {
            Objective = DistillObjective.Features, Hint = "relu", Guided = "relu", HintEpochs = 8, Epochs = 0,
            Lr = 0.05f, BatchSize = 32, WeightDecay = 0, IgnoreLabels = true,
        };
        var d = new Distiller(teacher, student, opts);
        var h = d.Run(train);
        Assert.IsType<Linear>(Assert.Single(d.Regressors));
        Assert.All(h, e => Assert.Equal("hints", e.Stage));
        Assert.True(h[^1].Loss < h[0].Loss * 0.7, $"hint loss {h[0].Loss:G3} -> {h[^1].Loss:G3}");
        Assert.Throws<ArgumentException>(() => new Distiller(teacher, student, opts with { Guided = "nope" }).Run(train));
    }

    [Theory]
    [InlineData("vgg-small", 0.25)]
    [InlineData("resnet-20", 0.5)]
    [InlineData("compact-cnn", 0.5)]
    public void WidthScaling_ScalesEveryLayerButTheOutput(string arch, double w)
    {
        var cfg = new ModelConfig { ImageSize = 28 };
        var full = StudentZoo.Create(arch, cfg, new Rng(1));
        var small = WidthScaling.Scale(full, w, new Rng(2));
        Assert.Equal(full.OutputShapeOfGraph, small.OutputShapeOfGraph);
        var fullConvs = full.Layers().Where(l => l.Layer is Conv2d).Select(l => ((Conv2d)l.Layer).OutChannels).ToList();
        var smallConvs = small.Layers().Where(l => l.Layer is Conv2d).Select(l => ((Conv2d)l.Layer).OutChannels).ToList();
        Assert.Equal(fullConvs.Select(c => (int)Math.Round(c * w, MidpointRounding.AwayFromZero)), smallConvs);
        Assert.True(small.ParameterCount() < full.ParameterCount() * w * 1.1);
        var y = small.Forward(Tensor.Uniform(new Rng(3), -1f, 1f, 2, 1, 28, 28));
        Assert.Equal([2, 10], y.Shape);
    }
}

using DeepShrink.Compression.Distillation;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Tests;

/// <summary>The margin hint loss (<see cref="MarginHint"/>, Heo et al. 2019) against hand computations.</summary>
public class MarginHintTests
{
    [Fact]
    public void Margins_AreEachChannelsMeanOfNegativeValues_AndZeroWithoutAny()
    {
        // [N=2, C=3, 2]: channel 0 {-1, 2, -3, 0}, channel 1 {1, 2, 3, 4}, channel 2 {-0.5, -0.5, -2, 1}
        var v = new Tensor(new float[] { -1f, 2f, 1f, 2f, -0.5f, -0.5f, -3f, 0f, 3f, 4f, -2f, 1f }, 2, 3, 2);
        Assert.Equal([-2f, 0f, -1f], MarginHint.Margins(v));
        // flat [N, C] values: channel = column
        Assert.Equal([-1.5f, 0f], MarginHint.Margins(new Tensor(new float[] { -1f, 5f, -2f, 0f }, 2, 2)));
        Assert.Throws<ArgumentException>(() => MarginHint.Margins(new Tensor(new float[] { 1f, 2f, 3f, 4f }, 4)));
    }

    [Fact]
    public void MarginsOfHintCaches_ReadTheFirstImages_FromTheCacheOrFromOneTeacherRunPerBatch()
    {
        var teacher = DistillationFamilyTests.RegressionNet(1, 16);
        var data = HintTermTests.Labelled(600, 4); // 256 + 256 + 88: margins over 300 images read two batches
        var bn = Distiller.ResolveValue(teacher, "bn", "teacher");
        var out_ = teacher.Graph.Output;
        TeacherCache Cache(string v, int[] shape, long limit) => new(teacher, data, v, shape, limit);
        var (bnOnly, outOnly) = (Cache(bn, [16], 0), Cache(out_, [3], 0));
        var uncached = MarginHint.Margins([bnOnly, outOnly], maxImages: 300);
        Assert.Equal(2, bnOnly.TeacherBatches + outOnly.TeacherBatches); // one run per batch for both values
        var (bnFull, outFull) = (Cache(bn, [16], 1 << 20), Cache(out_, [3], 1 << 20));
        TeacherCache.FillAll([bnFull, outFull]);
        int runs = bnFull.TeacherBatches + outFull.TeacherBatches;
        var cached = MarginHint.Margins([bnFull, outFull], maxImages: 300);
        Assert.Equal(runs, bnFull.TeacherBatches + outFull.TeacherBatches); // no teacher run
        // by hand: each channel's mean negative value over the first 512 images (whole batches), per value
        Tensor bnValues, outValues;
        var x = new Tensor(512, 1, 4, 4);
        for (int i = 0; i < 512; i++) data.CopySample(i, x.Span.Slice(i * 16, 16));
        teacher.Eval();
        using (Engine.NoGrad())
        {
            var vals = teacher.ForwardValues(x, [bn, out_]);
            (bnValues, outValues) = (vals[bn], vals[out_]);
        }
        float[][] expected = [MarginHint.Margins(bnValues), MarginHint.Margins(outValues)];
        Assert.Contains(expected[0], m => m < 0);
        for (int v = 0; v < 2; v++)
        {
            Assert.Equal(cached[v], uncached[v]);
            for (int c = 0; c < expected[v].Length; c++) Assert.Equal(expected[v][c], cached[v][c], 1e-5f);
        }
        var other = new TeacherCache(teacher, HintTermTests.Labelled(600, 4), bn, [16], 0);
        Assert.Throws<ArgumentException>(() => MarginHint.Margins([bnOnly, other]));
    }

    [Fact]
    public void Target_IsTheMarginRelu()
    {
        var t = new Tensor(new float[] { -3f, 0.5f, -0.2f, -4f }, 1, 2, 2);
        Assert.Equal([-2f, 0.5f, -0.2f, -1f], MarginHint.Target(t, [-2f, -1f]).ToArray());
        Assert.Throws<ArgumentException>(() => MarginHint.Target(t, [-2f]));
    }

    [Fact]
    public void PartialL2_ValueAndGradient_MatchAHandComputation()
    {
        // element by element: t > 0 (counted), t <= 0 with s > t (counted), t <= 0 with s <= t (left out), t = s = 0 (left out)
        float[] sv = [0.5f, -0.5f, -3f, 0f, 2f, -1f];
        float[] tv = [1.5f, -1f, -2f, 0f, 1f, -1f];
        var s = new Tensor(sv, 2, 3) { RequiresGrad = true };
        var t = new Tensor(tv, 2, 3);
        var loss = MarginHint.PartialL2(s, t);
        bool[] counted = [true, true, false, false, true, false];
        double expected = 0;
        for (int i = 0; i < 6; i++) if (counted[i]) expected += (sv[i] - tv[i]) * (sv[i] - tv[i]);
        expected /= 6;
        Assert.Equal(expected, loss.Item(), 1e-6);
        loss.Backward();
        var g = s.Grad!.ToArray();
        for (int i = 0; i < 6; i++) Assert.Equal(counted[i] ? 2.0 * (sv[i] - tv[i]) / 6 : 0.0, g[i], 1e-6);
        Assert.Throws<ArgumentException>(() => MarginHint.PartialL2(s, new Tensor(3, 2)));
    }

    [Fact]
    public void RegressorWithBatchNorm_MapsToTheHintShape_AndNormalisesTheTeachersChannels()
    {
        var conv = HintRegressor.Create([24, 28, 28], [32, 14, 14], new Rng(1), batchNorm: true);
        Assert.Equal(["bn.bias", "bn.weight", "map.bias", "map.weight"], conv.NamedParameters().Select(p => p.Item1).Order());
        Assert.Equal([2, 32, 14, 14], conv.Forward(Tensor.Uniform(new Rng(2), -1f, 1f, 2, 24, 28, 28)).Shape);
        var lin = HintRegressor.Create([6], [16], new Rng(1), batchNorm: true);
        lin.Train();
        var y = lin.Forward(Tensor.Uniform(new Rng(3), -1f, 1f, 8, 6)).ToArray();
        for (int c = 0; c < 16; c++) Assert.Equal(0.0, Enumerable.Range(0, 8).Average(i => y[i * 16 + c]), 1e-5); // batch statistics, beta 0
        // the same random draws as the plain map: only the batch norm is added
        Assert.Equal(HintRegressor.Create([6], [16], new Rng(1)).StateDict()["weight"].ToArray(), lin.StateDict()["map.weight"].ToArray());
    }

    [Fact]
    public void JointMarginHint_LossIsKdPlusWeightTimesThePartialL2_ComputedByHand()
    {
        const int n = 40; const float lambda = 2f;
        var teacher = DistillationFamilyTests.RegressionNet(1, 16);
        var data = HintTermTests.Labelled(n, 3);
        // the hint before the teacher's ReLU (its batch-norm output [16]) <- the student's [6]
        var opts = new DistillOptions
        {
            Hint = "bn", Guided = "bn", HintLoss = "margin", HintEpochs = 0, HintWeight = lambda, Epochs = 1, BatchSize = n, WeightDecay = 0, Seed = 5,
        };
        var h = new Distiller(teacher, DistillationFamilyTests.RegressionNet(2, 6), opts).Run(data);
        Assert.Single(h);

        var (guided, hints, kd) = HintTermTests.AtInitialWeights(teacher, DistillationFamilyTests.RegressionNet(2, 6), data, opts, ["bn"], ["bn"]);
        var g = guided[0].ToArray(); var u = hints[0].ToArray();
        // margins: mean of the negative hint values per channel over all 40 (< SampleImages) images
        var m = new double[16];
        for (int c = 0; c < 16; c++)
        {
            var neg = Enumerable.Range(0, n).Select(i => u[i * 16 + c]).Where(x => x < 0).ToList();
            m[c] = neg.Count == 0 ? 0 : neg.Average(x => (double)x);
        }
        Assert.Contains(m, x => x < 0);
        // regressor: linear 6 -> 16 (the plain regressor's initialisation), then batch norm with the batch's statistics
        var reg = HintRegressor.Create([6], [16], Distiller.RegressorRng(opts.Seed, 0));
        var w = reg.StateDict()["weight"].ToArray(); var b = reg.StateDict()["bias"].ToArray();
        var r = new double[n * 16];
        for (int i = 0; i < n; i++)
            for (int o = 0; o < 16; o++)
            {
                double acc = b[o];
                for (int k = 0; k < 6; k++) acc += (double)w[o * 6 + k] * g[i * 6 + k];
                r[i * 16 + o] = acc;
            }
        double sq = 0;
        for (int o = 0; o < 16; o++)
        {
            double mean = Enumerable.Range(0, n).Average(i => r[i * 16 + o]);
            double var = Enumerable.Range(0, n).Average(i => (r[i * 16 + o] - mean) * (r[i * 16 + o] - mean));
            for (int i = 0; i < n; i++)
            {
                double s = (r[i * 16 + o] - mean) / Math.Sqrt(var + 1e-5), t = Math.Max(u[i * 16 + o], m[o]);
                if (!(t <= 0 && s <= t)) sq += (s - t) * (s - t);
            }
        }
        double expected = kd + lambda * sq / (n * 16);
        Assert.True(sq > 0);
        Assert.Equal(expected, h[0].Loss, 1e-4 * expected);
    }

    [Fact]
    public void Validation_RejectsUnknownHintLosses_AndAHintLossWithoutHints()
    {
        var ok = new DistillOptions { Hint = "bn", Guided = "bn", HintEpochs = 0, HintWeight = 1f, HintLoss = "margin" };
        ok.Validate();
        var bad = Assert.Throws<ArgumentException>(() => (ok with { HintLoss = "l1" }).Validate());
        Assert.Equal("hint loss must be mse or margin, got 'l1'", bad.Message);
        Assert.Throws<ArgumentException>(() => new DistillOptions { HintLoss = "margin" }.Validate());
    }
}

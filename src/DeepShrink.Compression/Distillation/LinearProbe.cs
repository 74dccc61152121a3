using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Data;
using DeepShrink.Nn;
using DeepShrink.Nn.Optim;

namespace DeepShrink.Compression.Distillation;

/// <summary>
/// Linear-probe evaluation of frozen features (the standard test of representation quality): the
/// features of a model value on the training split are standardised (per-dimension mean and standard
/// deviation of the training features), a softmax-regression classifier is fitted on them with Adam,
/// and its accuracy on the test split's features is reported.
/// </summary>
public static class LinearProbe
{
    /// <summary>Features [N, D] of <paramref name="value"/> (flattened) over <paramref name="data"/>, eval mode, no gradient.</summary>
    public static Tensor Features(GraphModule model, ImageDataset data, string value, int batchSize = 256)
    {
        model.Eval();
        using var _ = Engine.NoGrad();
        float[]? all = null;
        int d = 0, done = 0;
        foreach (var b in new DataLoader(data, new DataLoaderOptions { BatchSize = batchSize, Shuffle = false }).Epoch(0))
        {
            var f = DistillLosses.Rows(model.ForwardValues(b.Images, [value])[value]);
            d = f.Shape[1];
            all ??= new float[(long)data.Count * d];
            f.ContiguousData().Span.CopyTo(all.AsSpan(done * d, b.Count * d));
            done += b.Count;
        }
        return new Tensor(all ?? [], data.Count, d);
    }

    /// <summary>Fits the probe on (<paramref name="trainFeatures"/>, <paramref name="trainLabels"/>) and returns its accuracy on the test features.</summary>
    public static double Accuracy(Tensor trainFeatures, IReadOnlyList<int> trainLabels, Tensor testFeatures, IReadOnlyList<int> testLabels,
        int classes, int epochs = 10, ulong seed = 42)
    {
        int n = trainFeatures.Shape[0], d = trainFeatures.Shape[1];
        var (mean, std) = Moments(trainFeatures.ContiguousData().Span, n, d);
        var tr = Standardise(trainFeatures, mean, std);
        var te = Standardise(testFeatures, mean, std);
        var rng = new Rng(seed);
        var probe = new Linear(d, classes, rng);
        var opt = new Adam(probe.NamedParameters(), 1e-3f);
        const int bs = 256;
        var order = Enumerable.Range(0, n).ToArray();
        var schedule = new CosineLr(epochs);
        for (int e = 0; e < epochs; e++)
        {
            rng.Shuffle(order.AsSpan());
            for (int s = 0; s < n; s += bs)
            {
                int b = Math.Min(bs, n - s);
                var x = new Tensor(b, d);
                var y = new int[b];
                for (int i = 0; i < b; i++)
                {
                    tr.AsSpan(order[s + i] * d, d).CopyTo(x.Span.Slice(i * d, d));
                    y[i] = trainLabels[order[s + i]];
                }
                opt.LearningRate = opt.BaseLearningRate * schedule.Factor(e + (double)s / n);
                var loss = Ops.CrossEntropy(probe.Forward(x), y);
                opt.ZeroGrad();
                loss.Backward();
                opt.Step();
            }
        }
        using var _ = Engine.NoGrad();
        var pred = Ops.ArgMaxRows(probe.Forward(new Tensor(te, testFeatures.Shape[0], d)));
        int ok = 0;
        for (int i = 0; i < pred.Length; i++) if (pred[i] == testLabels[i]) ok++;
        return pred.Length == 0 ? 0 : (double)ok / pred.Length;
    }

    private static (float[] Mean, float[] Std) Moments(ReadOnlySpan<float> x, int n, int d)
    {
        var mean = new double[d]; var sq = new double[d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) { double v = x[i * d + j]; mean[j] += v; sq[j] += v * v; }
        var m = new float[d]; var s = new float[d];
        for (int j = 0; j < d; j++)
        {
            m[j] = (float)(mean[j] / Math.Max(1, n));
            s[j] = (float)Math.Sqrt(Math.Max(sq[j] / Math.Max(1, n) - (double)m[j] * m[j], 0) + 1e-8);
        }
        return (m, s);
    }

    private static float[] Standardise(Tensor x, float[] mean, float[] std)
    {
        var src = x.ContiguousData().Span;
        int d = mean.Length;
        var dst = new float[src.Length];
        for (int i = 0; i < src.Length; i++) dst[i] = (src[i] - mean[i % d]) / std[i % d];
        return dst;
    }
}

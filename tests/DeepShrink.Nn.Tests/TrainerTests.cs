using DeepShrink.Core;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Training;

namespace DeepShrink.Nn.Tests;

public class TrainerTests
{
    // Two Gaussian blobs per class in 8-D: linearly separable enough that an MLP must reach > 95%.
    private static (Tensor X, int[] Y) Blobs(int n, ulong seed)
    {
        var rng = new Rng(seed);
        var centers = Tensor.Randn(new Rng(99), 2f, 3, 8);
        var x = new Tensor(n, 8); var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 3;
            for (int j = 0; j < 8; j++) x[i, j] = centers[y[i], j] + (float)rng.NextGaussian() * 0.5f;
        }
        return (x, y);
    }

    private static IEnumerable<(Tensor, int[])> Batches(Tensor x, int[] y, int bs)
    {
        for (int i = 0; i < y.Length; i += bs)
        {
            int n = Math.Min(bs, y.Length - i);
            yield return (Ops.Narrow(x, 0, i, n), y.AsSpan(i, n).ToArray());
        }
    }

    private static Module Mlp(ulong seed)
    {
        var rng = new Rng(seed);
        return new Sequential(new Linear(8, 16, rng), Activation.ReLU(), new Linear(16, 3, rng));
    }

    [Fact]
    public void Fit_Learns_Separable_Data()
    {
        var (x, y) = Blobs(300, 1);
        var (tx, ty) = Blobs(300, 2);
        var model = Mlp(5);
        var before = Trainer.Evaluate(model, Batches(tx, ty, 50));
        var hist = new Trainer().Fit(model, new Sgd(model.NamedParameters(), 0.1f, momentum: 0.9f), _ => Batches(x, y, 32), epochs: 10);
        var after = Trainer.Evaluate(model, Batches(tx, ty, 50));
        Assert.True(hist[^1].Loss < hist[0].Loss);
        Assert.True(after.Accuracy > 0.95f, $"accuracy {after.Accuracy} (before {before.Accuracy})");
    }

    [Fact]
    public void Training_IsBitIdentical_ForSameSeed_SingleThread()
    {
        var (x, y) = Blobs(120, 1);
        float[] Run()
        {
            var m = Mlp(7);
            new Trainer().Fit(m, new Adam(m.NamedParameters(), 0.01f), _ => Batches(x, y, 16), epochs: 3);
            return m.Parameters().SelectMany(p => p.ToArray()).ToArray();
        }
        Assert.Equal(Run(), Run());
    }

    private sealed class CountingCallback : ITrainingCallback
    {
        public int Epochs, Batches, Steps;
        public void OnEpochEnd(TrainingContext ctx) => Epochs++;
        public void OnBatchEnd(TrainingContext ctx) => Batches++;
        public void AfterOptimizerStep(TrainingContext ctx) => Steps++;
    }

    [Fact]
    public void Callbacks_AreCalled()
    {
        var (x, y) = Blobs(64, 1);
        var m = Mlp(1);
        var cb = new CountingCallback();
        var t = new Trainer(); t.Callbacks.Add(cb);
        t.Fit(m, new Sgd(m.NamedParameters(), 0.01f), _ => Batches(x, y, 16), epochs: 2);
        Assert.Equal((2, 8, 8), (cb.Epochs, cb.Batches, cb.Steps));
    }
}

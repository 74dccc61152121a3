using DeepShrink.Compression.Sharing;
using DeepShrink.Core;
using DeepShrink.Nn;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Tests;

public class SharingTests
{
    [Theory]
    [InlineData(CentroidInit.Linear)]
    [InlineData(CentroidInit.Density)]
    public void KMeans_RecoversWellSeparatedClusters(CentroidInit init)
    {
        var rng = new Rng(1);
        var centers = new[] { -3f, 0.5f, 4f };
        var data = Enumerable.Range(0, 600).Select(i => centers[i % 3] + (float)rng.NextGaussian() * 0.05f).ToArray();
        var c = KMeans1D.Fit(data, 3, init, new Rng(2));
        Assert.Equal(3, c.Length);
        for (int j = 0; j < 3; j++) Assert.InRange(c[j], centers[j] - 0.05f, centers[j] + 0.05f);
    }

    [Fact]
    public void RandomInit_IsSeededAndStaysInRange()
    {
        var data = Tensor.Randn(new Rng(1), 1f, 500).ToArray();
        var a = KMeans1D.Fit(data, 8, CentroidInit.Random, new Rng(7));
        var b = KMeans1D.Fit(data, 8, CentroidInit.Random, new Rng(7));
        Assert.Equal(a, b);
        Assert.All(a, v => Assert.InRange(v, data.Min(), data.Max()));
        Assert.Equal(a.OrderBy(v => v), a);
    }

    [Fact]
    public void LinearInit_SpansMinToMax_AndNearestIsNearest()
    {
        var data = new[] { -1f, -0.9f, 0f, 0.1f, 5f };
        var c = KMeans1D.Fit(data, 8, CentroidInit.Linear, new Rng(1), maxIter: 0);
        Assert.Equal(-1f, c[0]);
        Assert.Equal(5f, c[^1]);
        var rng = new Rng(3);
        for (int t = 0; t < 200; t++)
        {
            float v = rng.NextFloat() * 8 - 2;
            int k = KMeans1D.Nearest(c, v);
            foreach (var cc in c) Assert.True(MathF.Abs(v - c[k]) <= MathF.Abs(v - cc) + 1e-6f);
        }
    }

    [Fact]
    public void Quantize_KeepsPrunedZero_AndUsesAtMost2PowBitsValues()
    {
        var w = Tensor.Randn(new Rng(4), 1f, 1000).ToArray();
        for (int i = 0; i < w.Length; i += 3) w[i] = 0f;
        var layer = WeightSharing.Quantize("w", w, null, 4, CentroidInit.Linear, new Rng(1));
        var q = new float[w.Length];
        layer.WriteWeights(q);
        Assert.True(q.Where(v => v != 0f).Distinct().Count() <= 16);
        for (int i = 0; i < w.Length; i += 3) Assert.Equal(0f, q[i]);
        // Quantisation error is bounded by half the largest centroid gap.
        float maxGap = layer.Centroids.Zip(layer.Centroids.Skip(1), (a, b) => b - a).Max();
        for (int i = 0; i < w.Length; i++) if (w[i] != 0f) Assert.True(MathF.Abs(w[i] - q[i]) <= maxGap / 2 + 1e-6f);
    }

    [Fact]
    public void CentroidGradient_IsSumOverCluster()
    {
        var layer = new SharedLayer("w", 2, new[] { -1f, 0f, 1f }, new[] { 0, 2, 2, -1, 1, 0 });
        var g = layer.CentroidGradients(new[] { 1f, 2f, 3f, 100f, 4f, 5f });
        Assert.Equal(new[] { 6.0, 4.0, 5.0 }, g);
    }

    [Fact]
    public void FineTuning_KeepsWeightsOnTheCodebook_AndReducesLoss()
    {
        var rng = new Rng(5);
        var model = new Sequential(new Linear(4, 16, rng), Activation.ReLU(), new Linear(16, 2, rng));
        var x = Tensor.Randn(rng, 1f, 64, 4);
        var y = Enumerable.Range(0, 64).Select(i => x[i, 0] + x[i, 1] > 0 ? 1 : 0).ToArray();
        var layers = WeightSharing.QuantizeModel(model, new Dictionary<string, int> { ["0.weight"] = 2, ["2.weight"] = 2 }, null, CentroidInit.Linear, rng);
        var t = new Trainer(); t.Callbacks.Add(new SharingCallback(layers, 0.05f));
        var hist = t.Fit(model, new Sgd(model.NamedParameters(), 0.1f), _ => new[] { (x, y) }, 30);
        Assert.True(hist[^1].Loss < hist[0].Loss, $"loss {hist[0].Loss} -> {hist[^1].Loss}");
        foreach (var (n, p) in model.NamedParameters())
            if (layers.TryGetValue(n, out var l)) Assert.All(p.ToArray(), v => Assert.Contains(v, l.Centroids));
    }

    [Fact]
    public void MeanCentroidStep_StaysStableOnLargeClusters_WhereTheSumDiverges()
    {
        // ~1,000 weights per centroid: the summed step is ~1,000 times a weight's step (LeNet-5's fc1 at 4 bits
        // collapsed this way); the mean step moves a centroid like one of its members
        List<double> Run(CentroidStep step)
        {
            var rng = new Rng(11);
            var model = new Sequential(new Linear(2000, 2, rng));
            var x = Tensor.Randn(rng, 1f, 128, 2000);
            var y = Enumerable.Range(0, 128).Select(i => x[i, 0] + x[i, 1] + x[i, 2] > 0 ? 1 : 0).ToArray();
            var layers = WeightSharing.QuantizeModel(model, new Dictionary<string, int> { ["0.weight"] = 2 }, null, CentroidInit.Linear, new Rng(3));
            Assert.True(layers["0.weight"].Counts().Max() >= 500);
            var t = new Trainer(); t.Callbacks.Add(new SharingCallback(layers, 1f, step));
            return t.Fit(model, new Sgd(model.NamedParameters(), 0.05f), _ => new[] { (x, y) }, 20).Select(h => (double)h.Loss).ToList();
        }
        var mean = Run(CentroidStep.Mean);
        var sum = Run(CentroidStep.Sum);
        Assert.True(mean[^1] < mean[0], $"mean step: loss {mean[0]} -> {mean[^1]}");
        // the summed step overshoots from the first update on and oscillates above the starting loss (0.71 -> 2.5-5.3)
        Assert.True(sum.Skip(1).Min() > sum[0], $"sum step: losses after the first update down to {sum.Skip(1).Min()} (start {sum[0]})");
    }
}

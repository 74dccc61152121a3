using DeepShrink.Compression.Pruning;
using DeepShrink.Core;
using DeepShrink.Nn;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Tests;

public class PruningTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    [InlineData(1.0)]
    public void MaskForSparsity_PrunesExactly_TheSmallestMagnitudes(double sparsity)
    {
        var w = Tensor.Randn(new Rng(1), 1f, 1000).ToArray();
        var m = MagnitudePruner.MaskForSparsity(w, sparsity);
        int pruned = m.Count(v => v == 0f);
        Assert.Equal((int)Math.Round(sparsity * w.Length), pruned);
        float maxPruned = 0f, minKept = float.MaxValue;
        for (int i = 0; i < w.Length; i++)
            if (m[i] == 0f) maxPruned = MathF.Max(maxPruned, MathF.Abs(w[i])); else minKept = MathF.Min(minKept, MathF.Abs(w[i]));
        if (pruned > 0 && pruned < w.Length) Assert.True(maxPruned <= minKept);
    }

    [Fact]
    public void IterativeMasks_OnlyShrink()
    {
        var w = Tensor.Randn(new Rng(2), 1f, 500).ToArray();
        var m1 = MagnitudePruner.MaskForSparsity(w, 0.5);
        // Make a previously pruned weight large: it must stay pruned.
        int idx = Array.IndexOf(m1, 0f);
        w[idx] = 100f;
        var m2 = MagnitudePruner.MaskForSparsity(w, 0.7, m1);
        Assert.Equal(0f, m2[idx]);
        for (int i = 0; i < w.Length; i++) Assert.True(m2[i] <= m1[i]);
        Assert.Equal(350, m2.Count(v => v == 0f));
    }

    [Fact]
    public void QualityThreshold_IsQualityTimesStd()
    {
        var w = new[] { -2f, -1f, 0f, 1f, 2f }; // std = sqrt(2)
        Assert.Equal(1.5f * MathF.Sqrt(2f), MagnitudePruner.ThresholdFromQuality(w, 1.5f), 5);
        var m = MagnitudePruner.MaskForQuality(w, 1f); // threshold 1.414: keeps only +-2
        Assert.Equal(new[] { 1f, 0f, 0f, 0f, 1f }, m);
    }

    [Fact]
    public void Masks_StillHold_AfterOptimizerSteps_WithMomentumAndWeightDecay()
    {
        var rng = new Rng(3);
        var model = new Sequential(new Linear(6, 8, rng), Activation.ReLU(), new Linear(8, 3, rng));
        // Train a few steps first so momentum buffers are non-zero when pruning starts.
        var opt = new Sgd(model.NamedParameters(), 0.1f, momentum: 0.9f, weightDecay: 1e-3f);
        var x = Tensor.Randn(rng, 1f, 16, 6);
        var y = Enumerable.Range(0, 16).Select(i => i % 3).ToArray();
        var batches = (int _) => new[] { (x, y) };
        new Trainer().Fit(model, opt, batches, 3);
        var masks = new MaskSet();
        foreach (var (n, p) in model.NamedParameters().Where(p => p.Name.EndsWith("weight")))
            masks.Set(n, MagnitudePruner.MaskForSparsity(p.Span, 0.6));
        masks.ApplyToWeights(model);
        var t = new Trainer(); t.Callbacks.Add(new PruningCallback(masks));
        t.Fit(model, opt, batches, 5);
        foreach (var (n, p) in model.NamedParameters().Where(p => p.Name.EndsWith("weight")))
        {
            var m = masks.Get(n)!; var w = p.ToArray();
            for (int i = 0; i < w.Length; i++) if (m[i] == 0f) Assert.Equal(0f, w[i]);
            Assert.Contains(w, v => v != 0f);
        }
    }
}

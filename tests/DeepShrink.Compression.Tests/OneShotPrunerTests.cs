using DeepShrink.Compression.Pruning;
using DeepShrink.Core;
using DeepShrink.Nn;
using static DeepShrink.Compression.Tests.PruningMath;

namespace DeepShrink.Compression.Tests;

public class OneShotPrunerTests
{
    private static (Sequential Model, Linear Fc1, Linear Fc2, List<(Tensor X, int[] Y)> Calib) Setup()
    {
        var rng = new Rng(41);
        var fc1 = new Linear(10, 8, rng);
        var fc2 = new Linear(8, 3, rng);
        var model = new Sequential(("fc1", fc1), ("relu", Activation.ReLU()), ("fc2", fc2));
        var calib = new List<(Tensor, int[])>
        {
            (Tensor.FromArray(Gaussian(42, 16, 10), 16, 10), Enumerable.Range(0, 16).Select(i => i % 3).ToArray()),
            (Tensor.FromArray(Gaussian(43, 16, 10), 16, 10), Enumerable.Range(0, 16).Select(i => (i + 1) % 3).ToArray()),
        };
        return (model, fc1, fc2, calib);
    }

    [Theory]
    [InlineData(OneShotCriterion.Magnitude)]
    [InlineData(OneShotCriterion.ObdFisher)]
    [InlineData(OneShotCriterion.ObdLayerwise)]
    [InlineData(OneShotCriterion.Obs)]
    public void Prune_ReachesEachLayersSparsity_AndZeroesPrunedWeights(OneShotCriterion criterion)
    {
        var (model, fc1, fc2, calib) = Setup();
        var dense1 = fc1.Weight.ToArray();
        var dense2 = fc2.Weight.ToArray();
        var masks = OneShotPruner.Prune(model, calib, criterion, name => name == "fc1.weight" ? 0.6 : null);
        Assert.Equal(new[] { "fc1.weight" }, masks.Names.ToArray());
        var m = masks.Get("fc1.weight")!;
        Assert.Equal(48, m.Count(v => v == 0f));
        var w = fc1.Weight.ToArray();
        for (int i = 0; i < w.Length; i++)
        {
            if (m[i] == 0f) Assert.Equal(0f, w[i]);
            else if (criterion != OneShotCriterion.Obs) Assert.Equal(dense1[i], w[i]); // only OBS re-fits survivors
        }
        Assert.Equal(dense2, fc2.Weight.ToArray()); // no sparsity given: left dense
        if (criterion == OneShotCriterion.Obs) Assert.Contains(Enumerable.Range(0, w.Length), i => m[i] != 0f && w[i] != dense1[i]);
    }

    [Fact]
    public void Obs_LeavesTheSmallestLayerError()
    {
        var (_, _, _, calib) = Setup();
        var x = calib.SelectMany(b => b.X.ToArray()).ToArray();
        double Error(OneShotCriterion c)
        {
            var (model, fc1, _, data) = Setup();
            var dense = fc1.Weight.ToArray();
            OneShotPruner.Prune(model, data, c, name => name == "fc1.weight" ? 0.7 : null);
            return LayerError(x, 32, 10, fc1.Weight.ToArray(), dense);
        }
        double obs = Error(OneShotCriterion.Obs);
        foreach (var c in new[] { OneShotCriterion.Magnitude, OneShotCriterion.ObdLayerwise, OneShotCriterion.ObdFisher })
            Assert.True(obs < Error(c), $"OBS layer error {obs} should be below {c}'s {Error(c)}");
    }

    [Fact]
    public void Obs_PrunesConvolutions_ThroughTheirIm2colInputs()
    {
        var rng = new Rng(51);
        var conv = new Conv2d(2, 4, 3, rng, padding: 1);
        var model = new Sequential(("conv", conv), ("relu", Activation.ReLU()), ("flat", new Flatten()), ("fc", new Linear(4 * 5 * 5, 3, rng)));
        var x = Tensor.FromArray(Gaussian(52, 8, 2 * 5 * 5), 8, 2, 5, 5);
        var calib = new List<(Tensor, int[])> { (x, new int[8]) };
        var dense = conv.Weight.ToArray();
        var denseOut = Ops.Conv2d(x, conv.Weight, null, 1, 1, 1, 1).ToArray();
        double Error(float[] w)
        {
            var y = Ops.Conv2d(x, Tensor.FromArray(w, 4, 2, 3, 3), null, 1, 1, 1, 1).ToArray();
            return y.Zip(denseOut).Sum(p => ((double)p.First - p.Second) * (p.First - p.Second));
        }
        var masks = OneShotPruner.Prune(model, calib, OneShotCriterion.Obs, n => n == "conv.weight" ? 0.5 : null);
        Assert.Equal(36, masks.Get("conv.weight")!.Count(v => v == 0f));
        var magnitude = dense.Zip(MagnitudePruner.MaskForSparsity(dense, 0.5), (w, m) => w * m).ToArray();
        Assert.True(Error(conv.Weight.ToArray()) < Error(magnitude), "OBS should reconstruct the conv output better than magnitude pruning");
    }

    [Fact]
    public void BadInput_IsAClearError()
    {
        var (model, _, _, calib) = Setup();
        Assert.Throws<ArgumentOutOfRangeException>(() => OneShotPruner.Prune(model, calib, OneShotCriterion.Obs, _ => 1.2));
        Assert.Throws<ArgumentException>(() => OneShotPruner.Prune(model, new List<(Tensor, int[])>(), OneShotCriterion.Obs, _ => 0.5));
    }
}

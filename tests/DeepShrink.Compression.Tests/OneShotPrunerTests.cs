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
    public void BadInput_IsAClearError()
    {
        var (model, _, _, calib) = Setup();
        Assert.Throws<ArgumentOutOfRangeException>(() => OneShotPruner.Prune(model, calib, OneShotCriterion.Obs, _ => 1.2));
        Assert.Throws<ArgumentException>(() => OneShotPruner.Prune(model, new List<(Tensor, int[])>(), OneShotCriterion.Obs, _ => 0.5));
    }
}

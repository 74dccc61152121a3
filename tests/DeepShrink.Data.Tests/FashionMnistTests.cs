using System.Diagnostics;
using Xunit.Abstractions;

namespace DeepShrink.Data.Tests;

/// <summary>Checks against the real Fashion-MNIST when the Debian package is installed (it is on the build machines and in CI).</summary>
public class FashionMnistTests(ITestOutputHelper output)
{
    private static bool Present => Directory.Exists(DatasetSpec.FashionMnistDirectory);

    [Fact]
    public void RealFashionMnist_HasStandardCountsAndBalancedLabels()
    {
        if (!Present) { output.WriteLine($"skipped: {DatasetSpec.FashionMnistDirectory} not installed"); return; }
        var sw = Stopwatch.StartNew();
        var d = DatasetSpec.Parse("fashion-mnist").Load();
        output.WriteLine($"loaded Fashion-MNIST in {sw.ElapsedMilliseconds} ms");
        Assert.Equal(new[] { 60000, 1, 28, 28 }, d.Train.Images.Shape);
        Assert.Equal(new[] { 10000, 1, 28, 28 }, d.Test.Images.Shape);
        Assert.Equal(10, d.Train.NumClasses);
        Assert.All(d.Train.Labels.Concat(d.Test.Labels), l => Assert.InRange(l, 0, 9));
        Assert.Equal(Enumerable.Repeat(6000, 10), d.Train.ClassCounts());
        Assert.Equal(Enumerable.Repeat(1000, 10), d.Test.ClassCounts());
        // The documented constants are the training-set statistics: normalised data is ~N(0, 1).
        var stats = d.Train.ComputeStatistics();
        Assert.InRange(stats.Mean[0], -0.01f, 0.01f);
        Assert.InRange(stats.Std[0], 0.99f, 1.01f);
    }
}

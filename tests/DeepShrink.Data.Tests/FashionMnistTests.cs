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
        Assert.Equal((60000, 1, 28, 28), (d.Train.Count, d.Train.Channels, d.Train.Height, d.Train.Width));
        Assert.Equal((10000, 1, 28, 28), (d.Test.Count, d.Test.Channels, d.Test.Height, d.Test.Width));
        Assert.Equal(10, d.Train.NumClasses);
        Assert.True(d.Train.Labels.Concat(d.Test.Labels).All(l => l is >= 0 and <= 9), "labels outside 0..9");
        Assert.Equal(Enumerable.Repeat(6000, 10), d.Train.ClassCounts());
        Assert.Equal(Enumerable.Repeat(1000, 10), d.Test.ClassCounts());
        // The documented constants are the training-set statistics of the [0, 1]-scaled pixels.
        output.WriteLine($"counts checked at {sw.ElapsedMilliseconds} ms");
        var raw = IdxReader.ReadImages(Path.Combine(DatasetSpec.FashionMnistDirectory, "train-images-idx3-ubyte.gz"));
        var stats = Normalization.FromPixels(raw.Data, 1, 28 * 28);
        Assert.Equal(Normalization.FashionMnist.Mean[0], stats.Mean[0], 0.0005f);
        Assert.Equal(Normalization.FashionMnist.Std[0], stats.Std[0], 0.0005f);
        output.WriteLine($"statistics checked at {sw.ElapsedMilliseconds} ms");
        // A normalised sample equals (byte / 255 - mean) / std.
        Assert.Equal((raw.Data[784 * 7 + 400] / 255f - 0.2860f) / 0.3530f, d.Train.Sample(7)[400]);
    }
}

using DeepShrink.Core;
using DeepShrink.Data.Transforms;

namespace DeepShrink.Data.Tests;

public class DataLoaderTests
{
    private static ImageDataset Numbered(int n, int c = 1, int h = 4, int w = 5)
    {
        int ss = c * h * w;
        var data = new float[n * ss];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < ss; j++) data[i * ss + j] = i * 1000 + j;
        return new ImageDataset(new Tensor(data, n, c, h, w), Enumerable.Range(0, n).Select(i => i % 3).ToArray(), 3);
    }

    /// <summary>Sample ids of an epoch, recovered from the first pixel of each image.</summary>
    private static List<int> Ids(DataLoader loader, int epoch) =>
        loader.Epoch(epoch).SelectMany(b =>
        {
            var a = b.Images.ToArray();
            int ss = a.Length / b.Count;
            return Enumerable.Range(0, b.Count).Select(i => (int)a[i * ss] / 1000).ToList();
        }).ToList();

    [Fact]
    public void EveryEpoch_VisitsEverySampleExactlyOnce_WithMatchingLabels()
    {
        var ds = Numbered(103);
        var loader = new DataLoader(ds, new DataLoaderOptions { BatchSize = 10, Seed = 7 });
        Assert.Equal(11, loader.BatchesPerEpoch);
        for (int e = 0; e < 3; e++)
        {
            var batches = loader.Epoch(e).ToList();
            Assert.Equal(11, batches.Count);
            Assert.All(batches.Take(10), b => Assert.Equal(new[] { 10, 1, 4, 5 }, b.Images.Shape));
            Assert.Equal(new[] { 3, 1, 4, 5 }, batches[^1].Images.Shape);
            foreach (var b in batches)
            {
                var a = b.Images.ToArray();
                for (int i = 0; i < b.Count; i++)
                {
                    int id = (int)a[i * 20] / 1000;
                    Assert.Equal(ds.Label(id), b.Labels[i]);
                    Assert.Equal(ds.Sample(id), a.AsSpan(i * 20, 20).ToArray());
                }
            }
            Assert.Equal(Enumerable.Range(0, 103), Ids(loader, e).Order());
        }
    }

    [Fact]
    public void Shuffle_IsSeeded_EpochDependent_AndReproducible()
    {
        var ds = Numbered(64);
        var a = new DataLoader(ds, new DataLoaderOptions { BatchSize = 8, Seed = 1 });
        var b = new DataLoader(ds, new DataLoaderOptions { BatchSize = 8, Seed = 1 });
        var c = new DataLoader(ds, new DataLoaderOptions { BatchSize = 8, Seed = 2 });
        Assert.Equal(Ids(a, 0), Ids(b, 0));
        Assert.Equal(Ids(a, 3), Ids(a, 3));
        Assert.NotEqual(Ids(a, 0), Ids(a, 1));
        Assert.NotEqual(Ids(a, 0), Ids(c, 0));
        Assert.NotEqual(Enumerable.Range(0, 64), Ids(a, 0));
        var plain = new DataLoader(ds, new DataLoaderOptions { BatchSize = 8, Shuffle = false });
        Assert.Equal(Enumerable.Range(0, 64), Ids(plain, 5));
    }

    [Fact]
    public void DropLast_Flatten_AndBufferReuse()
    {
        var ds = Numbered(25, c: 2, h: 3, w: 3);
        var drop = new DataLoader(ds, new DataLoaderOptions { BatchSize = 10, DropLast = true, Flatten = true });
        var batches = drop.Epoch(0).ToList();
        Assert.Equal(2, drop.BatchesPerEpoch);
        Assert.Equal(2, batches.Count);
        Assert.All(batches, b => Assert.Equal(new[] { 10, 18 }, b.Images.Shape));
        Assert.Equal(20, Ids(drop, 0).Distinct().Count());

        var fresh = new DataLoader(ds, new DataLoaderOptions { BatchSize = 10, Seed = 3 });
        var reuse = new DataLoader(ds, new DataLoaderOptions { BatchSize = 10, Seed = 3, ReuseBuffers = true });
        Tensor? first = null;
        using var e1 = fresh.Epoch(1).GetEnumerator();
        foreach (var b in reuse.Epoch(1))
        {
            Assert.True(e1.MoveNext());
            Assert.Equal(e1.Current.Images.ToArray(), b.Images.ToArray());
            Assert.Equal(e1.Current.Labels, b.Labels);
            if (b.Count == 10) { first ??= b.Images; Assert.Same(first, b.Images); }
        }
        Assert.False(e1.MoveNext());
    }

    [Fact]
    public void Augmentation_IsSeeded_AndChangesSamples()
    {
        var ds = Numbered(40, c: 1, h: 6, w: 6);
        var opts = new DataLoaderOptions
        {
            BatchSize = 16, Seed = 5, Shuffle = false,
            Transforms = new ISampleTransform[] { new RandomCrop(2), new RandomHorizontalFlip() },
        };
        var a = new DataLoader(ds, opts).Epoch(0).SelectMany(b => b.Images.ToArray()).ToArray();
        var b2 = new DataLoader(ds, opts).Epoch(0).SelectMany(b => b.Images.ToArray()).ToArray();
        var other = new DataLoader(ds, opts).Epoch(1).SelectMany(b => b.Images.ToArray()).ToArray();
        Assert.Equal(a, b2);
        Assert.NotEqual(a, other);
        Assert.NotEqual(ds.Images.ToArray(), a);
        // The dataset itself is never modified by augmentation.
        Assert.Equal(1000f * 39 + 35, ds.Sample(39)[35]);
    }

    [Fact]
    public void InvalidOptions_AreRejected()
    {
        var ds = Numbered(5);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(ds, new DataLoaderOptions { BatchSize = 0 }));
        Assert.Throws<ArgumentException>(() => new DataLoader(ds, new DataLoaderOptions { Transforms = new ISampleTransform[] { null! } }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(ds).Epoch(-1));
    }
}

using DeepShrink.Core;

namespace DeepShrink.Data.Tests;

public class ImageDatasetTests
{
    private static ImageDataset Numbered(int n)
    {
        // Sample i is filled with the value i, so subsets can be traced back to their source.
        var data = new float[n * 2 * 3 * 3];
        for (int i = 0; i < n; i++) data.AsSpan(i * 18, 18).Fill(i);
        return new ImageDataset(new Tensor(data, n, 2, 3, 3), Enumerable.Range(0, n).Select(i => i % 4).ToArray(), 4);
    }

    [Fact]
    public void FromBytes_AppliesScaleThenPerChannelNormalisation()
    {
        var pixels = new byte[] { 0, 255, 51, 102, /* ch1 */ 0, 255, 51, 102 };
        var norm = new Normalization(new[] { 0.5f, 0.1f }, new[] { 0.25f, 2f });
        var ds = ImageDataset.FromBytes(pixels, new[] { 1, 2, 2, 2 }, new[] { 0 }, 1, norm);
        var v = ds.Images.ToArray();
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal((pixels[i] / 255f - 0.5f) / 0.25f, v[i]);
            Assert.Equal((pixels[4 + i] / 255f - 0.1f) / 2f, v[4 + i]);
        }
        Assert.Same(norm, ds.Normalization);
    }

    [Fact]
    public void ByteBacked_SamplesSubsetsAndImagesAgree()
    {
        var (pix, lab) = SyntheticData.BlobBytes(30, 3, 4, 5, seed: 8);
        var labels = lab.Select(l => (int)l).ToArray();
        var ds = ImageDataset.FromBytes(pix, new[] { 30, 1, 4, 5 }, labels, 3, Normalization.FashionMnist);
        Assert.True(ds.IsByteBacked);
        var expected = pix.Select(b => (b / 255f - 0.2860f) / 0.3530f).ToArray();
        Assert.Equal(expected.AsSpan(7 * 20, 20).ToArray(), ds.Sample(7));
        var sub = ds.Subset(new[] { 29, 0, 7 });
        Assert.True(sub.IsByteBacked);
        Assert.Equal(ds.Sample(7), sub.Sample(2));
        Assert.Equal(new[] { labels[29], labels[0], labels[7] }, sub.Labels);
        Assert.Equal(expected, ds.Images.ToArray());
        Assert.Same(ds.Images, ds.Images);
        Assert.Equal(ds.Sample(29), sub.Sample(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.Subset(new[] { 30 }));
    }

    [Fact]
    public void Constructor_ValidatesLabelsAndShapes()
    {
        Assert.Throws<ArgumentException>(() => new ImageDataset(new Tensor(2, 1, 2, 2), new[] { 0, 3 }, 3));
        Assert.Throws<ArgumentException>(() => new ImageDataset(new Tensor(2, 1, 2, 2), new[] { 0 }, 3));
        Assert.Throws<ArgumentException>(() => new ImageDataset(new Tensor(2, 4), new[] { 0, 1 }, 3));
        Assert.Throws<ArgumentException>(() => new ImageDataset(new Tensor(2, 3, 2, 2), new[] { 0, 1 }, 3, null, new Normalization(new[] { 0f, 0f }, new[] { 1f, 1f })));
    }

    [Fact]
    public void SplitValidation_PartitionsAllSamples_Reproducibly()
    {
        var ds = Numbered(50);
        var (train, val) = ds.SplitValidation(12, seed: 5);
        Assert.Equal(38, train.Count);
        Assert.Equal(12, val.Count);
        var ids = train.Images.ToArray().Where((_, i) => i % 18 == 0).Concat(val.Images.ToArray().Where((_, i) => i % 18 == 0)).Select(v => (int)v).ToList();
        Assert.Equal(Enumerable.Range(0, 50), ids.Order());
        for (int i = 0; i < train.Count; i++) Assert.Equal((int)train.Sample(i)[0] % 4, train.Label(i));
        var (_, val2) = ds.SplitValidation(12, seed: 5);
        Assert.Equal(val.Images.ToArray(), val2.Images.ToArray());
        var (_, val3) = ds.SplitValidation(12, seed: 6);
        Assert.NotEqual(val.Images.ToArray(), val3.Images.ToArray());
    }

    [Fact]
    public void Take_RandomSubset_Subset()
    {
        var ds = Numbered(30);
        Assert.Equal(new[] { 0f, 1f, 2f }, ds.Take(3).Images.ToArray().Where((_, i) => i % 18 == 0));
        Assert.Equal(30, ds.Take(100).Count);
        var r = ds.RandomSubset(10, seed: 1);
        var firsts = r.Images.ToArray().Where((_, i) => i % 18 == 0).ToArray();
        Assert.Equal(10, firsts.Distinct().Count());
        Assert.Equal(firsts.Order(), firsts);
        Assert.Equal(firsts, ds.RandomSubset(10, seed: 1).Images.ToArray().Where((_, i) => i % 18 == 0));
        var s = ds.Subset(new[] { 7, 7, 2 });
        Assert.Equal(new[] { 3, 3, 2 }, s.Labels);
        Assert.Equal(7f, s.Sample(1)[17]);
    }

    [Fact]
    public void ComputeStatistics_MatchesByteHistogramStatistics()
    {
        var (pix, lab) = SyntheticData.BlobBytes(40, 4, 6, 6, seed: 2);
        var raw = ImageDataset.FromBytes(pix, new[] { 40, 1, 6, 6 }, lab.Select(l => (int)l).ToArray(), 4, Normalization.Identity);
        var a = raw.ComputeStatistics();
        var b = Normalization.FromPixels(pix, 1, 36);
        Assert.Equal(b.Mean[0], a.Mean[0], 5);
        Assert.Equal(b.Std[0], a.Std[0], 5);
        var round = Normalization.FromJson(b.ToJson());
        Assert.Equal(b.Mean, round.Mean);
        Assert.Equal(b.Std, round.Std);
        Assert.Throws<FormatException>(() => Normalization.FromJson("{\"mean\":[0.1],\"std\":[0]}"));
    }

    [Fact]
    public void SyntheticBlobs_AreSeparableByNearestCentroid()
    {
        var ds = SyntheticData.Blobs(300, 5, 1, 6, 6, seed: 11, noise: 0.5f);
        var (train, test) = ds.SplitValidation(100, seed: 1);
        int ss = ds.SampleSize;
        var centroids = new double[5, ss];
        var counts = train.ClassCounts();
        for (int i = 0; i < train.Count; i++)
            for (int j = 0; j < ss; j++) centroids[train.Label(i), j] += train.Sample(i)[j] / (double)counts[train.Label(i)];
        int correct = 0;
        for (int i = 0; i < test.Count; i++)
        {
            int best = -1; double bestD = double.MaxValue;
            for (int c = 0; c < 5; c++)
            {
                double d = 0;
                for (int j = 0; j < ss; j++) { double e = test.Sample(i)[j] - centroids[c, j]; d += e * e; }
                if (d < bestD) { bestD = d; best = c; }
            }
            if (best == test.Label(i)) correct++;
        }
        Assert.Equal(test.Count, correct);
        Assert.Equal(new[] { 60, 60, 60, 60, 60 }, ds.ClassCounts());
    }
}

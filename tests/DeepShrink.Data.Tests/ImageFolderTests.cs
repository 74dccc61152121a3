using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace DeepShrink.Data.Tests;

public class ImageFolderTests
{
    private static readonly Normalization Identity = new(0f, 1f);

    // ---- helpers -----------------------------------------------------------------------------

    /// <summary>Writes an RGB image; pixel (x, y) = f(x, y). Format from the extension.</summary>
    private static void WriteRgb(string path, int w, int h, Func<int, int, (byte R, byte G, byte B)> f)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var img = new Image<Rgb24>(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) { var (r, g, b) = f(x, y); img[x, y] = new Rgb24(r, g, b); }
        Save(img, path);
    }

    private static void WriteGrey(string path, int w, int h, Func<int, int, byte> f)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var img = new Image<L8>(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) img[x, y] = new L8(f(x, y));
        Save(img, path);
    }

    private static void Save(Image img, string path)
    {
        switch (Path.GetExtension(path).ToLowerInvariant())
        {
            case ".png": img.SaveAsPng(path); break;
            case ".bmp": img.SaveAsBmp(path); break;
            case ".jpg": case ".jpeg": img.SaveAsJpeg(path); break;
            default: throw new ArgumentException(path);
        }
    }

    private static DatasetSplits Load(string dir, int? size = null, int? channels = null, ulong seed = 20240917, int validation = 0) =>
        DatasetSpec.Parse("imagefolder:" + dir).Load(new DatasetLoadOptions
        {
            Normalization = Identity, ImageSize = size, Channels = channels, SplitSeed = seed, ValidationCount = validation,
        });

    /// <summary>Sample i as bytes (identity normalisation: value * 255).</summary>
    private static int[] Bytes(ImageDataset ds, int i) => ds.Sample(i).Select(v => (int)Math.Round(v * 255.0)).ToArray();

    /// <summary>Independent bilinear reference (pixel centres, clamped edges), in double.</summary>
    private static double[] BilinearRef(double[,] src, int outH, int outW)
    {
        int h = src.GetLength(0), w = src.GetLength(1);
        var dst = new double[outH * outW];
        for (int y = 0; y < outH; y++)
            for (int x = 0; x < outW; x++)
            {
                double sy = Math.Clamp((y + 0.5) * h / outH - 0.5, 0, h - 1);
                double sx = Math.Clamp((x + 0.5) * w / outW - 0.5, 0, w - 1);
                int y0 = (int)Math.Floor(sy), x0 = (int)Math.Floor(sx);
                int y1 = Math.Min(y0 + 1, h - 1), x1 = Math.Min(x0 + 1, w - 1);
                double wy = sy - y0, wx = sx - x0;
                dst[y * outW + x] = (1 - wy) * ((1 - wx) * src[y0, x0] + wx * src[y0, x1])
                                  + wy * ((1 - wx) * src[y1, x0] + wx * src[y1, x1]);
            }
        return dst;
    }

    // ---- layout and labels -------------------------------------------------------------------

    [Fact]
    public void ImageFolder_TrainTest_LabelsFollowSortedClassNames()
    {
        using var t = new TempDir();
        // Classes created out of order; "B" sorts before "a" ordinally.
        foreach (var split in new[] { "train", "test" })
        {
            WriteRgb(Path.Combine(t.Path, split, "zebra", "1.png"), 5, 4, (x, y) => (200, 10, 10));
            WriteGrey(Path.Combine(t.Path, split, "a", "1.bmp"), 8, 8, (x, y) => 50);
            WriteRgb(Path.Combine(t.Path, split, "a", "2.jpg"), 12, 7, (x, y) => (90, 90, 200));
            WriteGrey(Path.Combine(t.Path, split, "B", "x.png"), 3, 3, (x, y) => 7);
        }
        File.WriteAllText(Path.Combine(t.Path, "train", "a", "notes.txt"), "ignored");
        var d = Load(t.Path, size: 6);
        Assert.Equal(new[] { "B", "a", "zebra" }, d.Train.ClassNames);
        Assert.Equal(3, d.Train.NumClasses);
        Assert.Equal(new[] { 0, 1, 1, 2 }, d.Train.Labels);
        Assert.Equal(new[] { 0, 1, 1, 2 }, d.Test.Labels);
        Assert.Equal(new[] { 3, 6, 6 }, d.Train.SampleShape); // mixed grey and RGB -> 3 channels
        Assert.True(d.Train.IsByteBacked);
        Assert.Null(d.Validation);
        // Class B is a flat grey 7 image: every resized pixel of every channel is 7.
        Assert.All(Bytes(d.Train, 0), v => Assert.Equal(7, v));
        // zebra: flat (200, 10, 10).
        var z = Bytes(d.Test, 3);
        Assert.All(z.Take(36), v => Assert.Equal(200, v));
        Assert.All(z.Skip(36), v => Assert.Equal(10, v));
    }

    [Fact]
    public void ImageFolder_ClassListsDisagree_ClearError()
    {
        using var t = new TempDir();
        WriteGrey(Path.Combine(t.Path, "train", "cat", "1.png"), 2, 2, (x, y) => 1);
        WriteGrey(Path.Combine(t.Path, "train", "dog", "1.png"), 2, 2, (x, y) => 1);
        WriteGrey(Path.Combine(t.Path, "test", "cat", "1.png"), 2, 2, (x, y) => 1);
        WriteGrey(Path.Combine(t.Path, "test", "cow", "1.png"), 2, 2, (x, y) => 1);
        var e = Assert.Throws<DatasetException>(() => Load(t.Path));
        Assert.Contains("dog", e.Message);
        Assert.Contains("cow", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ImageFolder_EmptyClassOrNoImages_Errors()
    {
        using var t = new TempDir();
        WriteGrey(Path.Combine(t.Path, "cat", "1.png"), 2, 2, (x, y) => 1);
        Directory.CreateDirectory(Path.Combine(t.Path, "dog"));
        var e = Assert.Throws<DatasetException>(() => Load(t.Path));
        Assert.Contains(Path.Combine(t.Path, "dog"), e.Message);

        using var empty = new TempDir();
        File.WriteAllText(Path.Combine(empty.Path, "readme.txt"), "no images");
        e = Assert.Throws<DatasetException>(() => Load(empty.Path));
        Assert.Contains("no images", e.Message);

        Assert.Throws<DatasetException>(() => Load(Path.Combine(empty.Path, "missing")));

        using var half = new TempDir();
        WriteGrey(Path.Combine(half.Path, "train", "a", "1.png"), 2, 2, (x, y) => 1);
        e = Assert.Throws<DatasetException>(() => Load(half.Path));
        Assert.Contains("no test/", e.Message);
    }

    [Fact]
    public void ImageFolder_CorruptFile_NamedInException()
    {
        using var t = new TempDir();
        WriteGrey(Path.Combine(t.Path, "train", "a", "good.png"), 4, 4, (x, y) => 3);
        WriteGrey(Path.Combine(t.Path, "test", "a", "good.png"), 4, 4, (x, y) => 3);
        string bad = Path.Combine(t.Path, "train", "a", "zz-bad.png");
        var rnd = new Random(5);
        var junk = new byte[300];
        rnd.NextBytes(junk);
        File.WriteAllBytes(bad, junk);
        var e = Assert.Throws<DatasetException>(() => Load(t.Path));
        Assert.Contains(bad, e.Message);
        Assert.DoesNotContain('\n', e.Message);

        // A truncated real PNG (valid header, missing data) is also reported by path.
        var full = File.ReadAllBytes(Path.Combine(t.Path, "train", "a", "good.png"));
        File.WriteAllBytes(bad, full.AsSpan(0, 40).ToArray());
        e = Assert.Throws<DatasetException>(() => Load(t.Path));
        Assert.Contains(bad, e.Message);
    }

    [Fact]
    public void ImageFolder_DifferentSizesWithoutImageSize_Error()
    {
        using var t = new TempDir();
        WriteGrey(Path.Combine(t.Path, "a", "1.png"), 4, 4, (x, y) => 3);
        WriteGrey(Path.Combine(t.Path, "a", "2.png"), 5, 4, (x, y) => 3);
        var e = Assert.Throws<DatasetException>(() => Load(t.Path));
        Assert.Contains("1.png", e.Message);
        Assert.Contains("2.png", e.Message);
        Assert.Contains("image size", e.Message);
        var d = Load(t.Path, size: 3);
        Assert.Equal(new[] { 1, 3, 3 }, d.Train.SampleShape); // all grey -> 1 channel
    }

    // ---- pixels --------------------------------------------------------------------------------

    [Fact]
    public void ImageFolder_Resize_MatchesBilinearReference()
    {
        using var t = new TempDir();
        // 3 wide x 2 high, distinct values per channel.
        byte[,] r = { { 0, 200, 40 }, { 255, 10, 130 } };
        byte[,] g = { { 17, 0, 255 }, { 90, 180, 3 } };
        byte[,] b = { { 255, 255, 0 }, { 0, 60, 120 } };
        WriteRgb(Path.Combine(t.Path, "train", "only", "img.png"), 3, 2, (x, y) => (r[y, x], g[y, x], b[y, x]));
        WriteRgb(Path.Combine(t.Path, "test", "only", "img.bmp"), 3, 2, (x, y) => (r[y, x], g[y, x], b[y, x]));
        foreach (int n in new[] { 4, 5, 2 })
        {
            var d = Load(t.Path, size: n, channels: 3);
            Assert.Equal(new[] { 3, n, n }, d.Train.SampleShape);
            foreach (var ds in new[] { d.Train, d.Test })
            {
                var got = Bytes(ds, 0);
                int plane = n * n;
                var planes = new[] { r, g, b };
                for (int c = 0; c < 3; c++)
                {
                    var src = new double[2, 3];
                    for (int y = 0; y < 2; y++) for (int x = 0; x < 3; x++) src[y, x] = planes[c][y, x];
                    var want = BilinearRef(src, n, n);
                    for (int i = 0; i < plane; i++)
                        Assert.True(Math.Abs(got[c * plane + i] - want[i]) <= 0.5 + 1e-3,
                            $"n={n} c={c} i={i}: got {got[c * plane + i]}, reference {want[i]:F3}");
                }
            }
        }
        // No resize: exact pixels.
        var same = Bytes(Load(t.Path, channels: 3).Train, 0);
        Assert.Equal(new[] { 0, 200, 40, 255, 10, 130 }, same.Take(6));
        Assert.Equal(new[] { 255, 255, 0, 0, 60, 120 }, same.Skip(12));
    }

    [Fact]
    public void ImageFolder_ChannelConversion_ReplicationAndLuma()
    {
        using var t = new TempDir();
        (byte, byte, byte)[] colours = { (255, 0, 0), (0, 255, 0), (0, 0, 255), (10, 20, 30) };
        int[] luma = { 76, 150, 29, 18 }; // round(0.299 R + 0.587 G + 0.114 B)
        WriteRgb(Path.Combine(t.Path, "rgb", "c.png"), 4, 1, (x, y) => colours[x]);
        WriteGrey(Path.Combine(t.Path, "rgb", "d.png"), 4, 1, (x, y) => (byte)(40 * x + 1));
        var d = DatasetSpec.Parse("imagefolder:" + Path.Combine(t.Path, "rgb")).Load(new DatasetLoadOptions
        {
            Normalization = Identity, Channels = 1, TestFraction = 0.5,
        });
        var all = d.Train.Count == 1 ? new[] { Bytes(d.Train, 0), Bytes(d.Test, 0) } : throw new InvalidOperationException();
        var rgbSample = all.Single(s => s[0] == 76 || s[1] == 150);
        Assert.Equal(luma, rgbSample);
        var greySample = all.Single(s => s[0] == 1);
        Assert.Equal(new[] { 1, 41, 81, 121 }, greySample);

        var d3 = DatasetSpec.Parse("imagefolder:" + Path.Combine(t.Path, "rgb")).Load(new DatasetLoadOptions
        {
            Normalization = Identity, Channels = 3, TestFraction = 0.5,
        });
        var all3 = new[] { Bytes(d3.Train, 0), Bytes(d3.Test, 0) };
        var grey3 = all3.Single(s => s[0] == 1);
        Assert.Equal(new[] { 1, 41, 81, 121, 1, 41, 81, 121, 1, 41, 81, 121 }, grey3);
        var rgb3 = all3.Single(s => s[0] == 255);
        Assert.Equal(new[] { 255, 0, 0, 10, 0, 255, 0, 20, 0, 0, 255, 30 }, rgb3);
    }

    [Fact]
    public void ImageFolder_Idx_ResizeAndChannels()
    {
        using var t = new TempDir();
        // Two 3x3 grey images.
        var px = new byte[2 * 9];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)(i * 13);
        IdxWriter.WriteFile(t.File("train-images-idx3-ubyte"), px, new[] { 2, 3, 3 }, gzip: false);
        IdxWriter.WriteFile(t.File("train-labels-idx1-ubyte"), new byte[] { 0, 1 }, new[] { 2 }, gzip: false);
        IdxWriter.WriteFile(t.File("t10k-images-idx3-ubyte"), px, new[] { 2, 3, 3 }, gzip: false);
        IdxWriter.WriteFile(t.File("t10k-labels-idx1-ubyte"), new byte[] { 1, 0 }, new[] { 2 }, gzip: false);
        var d = DatasetSpec.Parse("idx:" + t.Path).Load(new DatasetLoadOptions { Normalization = Identity, ImageSize = 5, Channels = 3 });
        Assert.Equal(new[] { 3, 5, 5 }, d.Train.SampleShape);
        Assert.True(d.Train.IsByteBacked);
        var src = new double[3, 3];
        for (int y = 0; y < 3; y++) for (int x = 0; x < 3; x++) src[y, x] = px[9 + y * 3 + x];
        var want = BilinearRef(src, 5, 5);
        var got = Bytes(d.Test, 0); // test sample 0 is image 0; check image 1 of train
        got = Bytes(d.Train, 1);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 25; i++) Assert.True(Math.Abs(got[c * 25 + i] - want[i]) <= 0.5 + 1e-3, $"c={c} i={i}");
        Assert.Throws<DatasetException>(() => DatasetSpec.Parse("idx:" + t.Path).Load(new DatasetLoadOptions { Channels = 2 }));
        Assert.Throws<DatasetException>(() => DatasetSpec.Parse("idx:" + t.Path).Load(new DatasetLoadOptions { ImageSize = 0 }));
    }

    // ---- split ----------------------------------------------------------------------------------

    private static string MakeFlat(TempDir t, int classes, int perClass)
    {
        for (int c = 0; c < classes; c++)
            for (int i = 0; i < perClass; i++)
            {
                byte v = (byte)(c * perClass + i); // unique pixel value identifies the file
                WriteGrey(Path.Combine(t.Path, $"class{c}", $"img{i:D2}.png"), 2, 2, (x, y) => v);
            }
        return t.Path;
    }

    private static int[] Ids(ImageDataset ds) => Enumerable.Range(0, ds.Count).Select(i => Bytes(ds, i)[0]).ToArray();

    [Fact]
    public void ImageFolder_Split_DeterministicDisjointPerClass()
    {
        using var t = new TempDir();
        string dir = MakeFlat(t, classes: 3, perClass: 10);
        var a = Load(dir);
        var b = Load(dir);
        Assert.Equal(Ids(a.Train), Ids(b.Train));
        Assert.Equal(Ids(a.Test), Ids(b.Test));
        Assert.Empty(Ids(a.Train).Intersect(Ids(a.Test)));
        Assert.Equal(Enumerable.Range(0, 30), Ids(a.Train).Concat(Ids(a.Test)).OrderBy(v => v));
        Assert.Equal(new[] { 8, 8, 8 }, a.Train.ClassCounts());
        Assert.Equal(new[] { 2, 2, 2 }, a.Test.ClassCounts());
        for (int i = 0; i < a.Test.Count; i++) Assert.Equal(Ids(a.Test)[i] / 10, a.Test.Label(i));
        var other = Load(dir, seed: 7);
        Assert.NotEqual(Ids(a.Test), Ids(other.Test));
        // Validation carved from train.
        var v = Load(dir, validation: 4);
        Assert.Equal(4, v.Validation!.Count);
        Assert.Equal(20, v.Train.Count);
    }

    [Fact]
    public void ImageFolder_ValFolder_IsValidation()
    {
        using var t = new TempDir();
        foreach (var split in new[] { "train", "test", "val" })
            foreach (var c in new[] { "x", "y" })
                WriteGrey(Path.Combine(t.Path, split, c, "1.png"), 2, 2, (px, py) => 9);
        var d = Load(t.Path);
        Assert.NotNull(d.Validation);
        Assert.Equal(new[] { 0, 1 }, d.Validation!.Labels);
        // val/ wins over a requested carve-out (train's default --val 5000 must not break it).
        var v = Load(t.Path, validation: 1);
        Assert.Equal(2, v.Validation!.Count);
        Assert.Equal(2, v.Train.Count);
    }

    [Fact]
    public void ImageFolder_Unlabelled_OneClass()
    {
        using var t = new TempDir();
        for (int i = 0; i < 5; i++) WriteGrey(t.File($"u{i}.png"), 3, 3, (x, y) => (byte)i);
        var d = Load(t.Path);
        Assert.Equal(1, d.Train.NumClasses);
        Assert.Null(d.Train.ClassNames);
        Assert.Equal(4, d.Train.Count);
        Assert.Equal(1, d.Test.Count);
        Assert.All(d.Train.Labels, l => Assert.Equal(0, l));
    }

    [Fact]
    public void ImageFolder_SpecParses()
    {
        var s = DatasetSpec.Parse("imagefolder:/data/pics");
        Assert.Equal(DatasetKind.ImageFolder, s.Kind);
        Assert.Equal("/data/pics", s.Directory);
        Assert.Equal("imagefolder:/data/pics", s.ToString());
        Assert.Null(s.KnownClassCount);
        Assert.Throws<DatasetException>(() => DatasetSpec.Parse("imagefolder"));
    }
}

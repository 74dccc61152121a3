using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace DeepShrink.Data.Tests;

/// <summary><see cref="DatasetLoadOptions.ChannelOrder"/>: colour images reach a BGR model swapped, before normalisation; grey ones are unaffected.</summary>
public class ImageFolderChannelOrderTests
{
    private static void WriteRgb(string path, byte r, byte g, byte b)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var img = new Image<Rgb24>(3, 2);
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 3; x++) img[x, y] = new Rgb24((byte)(r + x), (byte)(g + y), b);
        img.SaveAsPng(path);
    }

    private static void WriteGrey(string path, byte v)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var img = new Image<L8>(3, 2);
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 3; x++) img[x, y] = new L8((byte)(v + x + y));
        img.SaveAsPng(path);
    }

    private static string ColourFolder(TempDir t)
    {
        foreach (var split in new[] { "train", "test" })
        {
            WriteRgb(Path.Combine(t.Path, split, "a", "1.png"), 10, 100, 200);
            WriteRgb(Path.Combine(t.Path, split, "b", "1.png"), 40, 130, 250);
        }
        return t.Path;
    }

    private static DatasetSplits Load(string dir, Normalization norm, int[]? order, int? channels = null) =>
        DatasetSpec.Parse("imagefolder:" + dir).Load(new DatasetLoadOptions { Normalization = norm, ChannelOrder = order, Channels = channels });

    [Fact]
    public void Bgr_SwapsRedAndBlue_BeforeNormalisationInModelOrder()
    {
        using var t = new TempDir();
        var dir = ColourFolder(t);
        // normalisation constants in the model's (BGR) order: channel 0 is blue
        var norm = new Normalization([0.5f, 0.25f, 0.125f], [2f, 4f, 8f]);
        var rgb = Load(dir, norm, null).Test;
        var bgr = Load(dir, norm, [2, 1, 0]).Test;
        Assert.Equal([3, 2, 3], bgr.SampleShape);
        for (int i = 0; i < 2; i++)
        {
            float[] a = rgb.Sample(i).ToArray(), b = bgr.Sample(i).ToArray();
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < 6; p++)
                {
                    // raw pixel of image channel k from the unswapped load: x = v std[k] + mean[k]
                    int k = 2 - c;
                    double pixel = a[k * 6 + p] * norm.StdOf(k) + norm.MeanOf(k);
                    Assert.Equal((pixel - norm.MeanOf(c)) / norm.StdOf(c), b[c * 6 + p], 4);
                }
        }
        // sample 0 of class a: blue is the constant 200, red is 10 + x
        var s = bgr.Sample(0).ToArray();
        Assert.Equal((200 / 255.0 - 0.5) / 2, s[0], 4);
        Assert.Equal((12 / 255.0 - 0.125) / 8, s[2 * 6 + 2], 4);
    }

    [Fact]
    public void ComputedNormalisation_IsMeasuredInModelOrder()
    {
        using var t = new TempDir();
        var dir = ColourFolder(t);
        var rgb = DatasetSpec.Parse("imagefolder:" + dir).Load(new DatasetLoadOptions());
        var bgr = DatasetSpec.Parse("imagefolder:" + dir).Load(new DatasetLoadOptions { ChannelOrder = [2, 1, 0] });
        Assert.Equal(rgb.Normalization.MeanOf(2), bgr.Normalization.MeanOf(0), 5);
        Assert.Equal(rgb.Normalization.MeanOf(0), bgr.Normalization.MeanOf(2), 5);
        Assert.True(bgr.Normalization.MeanOf(0) > bgr.Normalization.MeanOf(2), "blue (about 225) comes first for a BGR model");
    }

    [Fact]
    public void GreyImages_ReplicatedToThreeChannels_AreUnaffected()
    {
        using var t = new TempDir();
        foreach (var split in new[] { "train", "test" })
        {
            WriteGrey(Path.Combine(t.Path, split, "a", "1.png"), 20);
            WriteGrey(Path.Combine(t.Path, split, "b", "1.png"), 90);
        }
        var norm = new Normalization(0f, 1f);
        var plain = Load(t.Path, norm, null, channels: 3).Test;
        var bgr = Load(t.Path, norm, [2, 1, 0], channels: 3).Test;
        Assert.Equal([3, 2, 3], bgr.SampleShape);
        for (int i = 0; i < 2; i++) Assert.Equal(plain.Sample(i).ToArray(), bgr.Sample(i).ToArray());
        var one = Load(t.Path, norm, [2, 1, 0]).Test; // stored grey: 1 channel, the order does not apply
        Assert.Equal([1, 2, 3], one.SampleShape);
    }

    [Theory]
    [InlineData(new[] { 0, 0, 1 })]
    [InlineData(new[] { 1, 0 })]
    [InlineData(new[] { 3, 1, 0 })]
    public void BadOrder_IsOneLineError(int[] order)
    {
        using var t = new TempDir();
        var dir = ColourFolder(t);
        var e = Assert.Throws<DatasetException>(() => Load(dir, new Normalization(0f, 1f), order));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("channel order", e.Message);
    }

    [Theory]
    [InlineData("2,1,0", new[] { 2, 1, 0 })]
    [InlineData(" 0, 1 ,2", new[] { 0, 1, 2 })]
    [InlineData(null, null)]
    public void Parse_ReadsTheMetadataForm(string? text, int[]? expected)
    {
        Assert.Equal(expected, ChannelOrder.Parse(text));
        if (expected is not null) Assert.Equal(text!.Replace(" ", ""), ChannelOrder.Format(expected));
        Assert.Throws<FormatException>(() => ChannelOrder.Parse("2,x,0"));
        Assert.Throws<FormatException>(() => ChannelOrder.Parse("2,2,0"));
    }
}

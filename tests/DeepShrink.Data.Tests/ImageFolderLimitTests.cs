using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace DeepShrink.Data.Tests;

/// <summary>An image whose header claims far more pixels than its bytes could hold is refused before decoding.</summary>
public class ImageFolderLimitTests
{
    [Fact]
    public void AFlatHugeImageIsRefusedByThePixelPerByteBound_ASmallOneIsDecoded()
    {
        var dir = Directory.CreateTempSubdirectory("ds-imglimit-").FullName;
        try
        {
            var big = Path.Combine(dir, "flat.png");
            using (var img = new Image<Rgb24>(2048, 1024)) img.SaveAsPng(big); // 2 Mpx of one colour: a few KB
            long bytes = new FileInfo(big).Length;
            Assert.True(2048L * 1024 > Math.Max(ImageFolderReader.MinPixelBudget, ImageFolderReader.PixelsPerFileByte * bytes), $"{bytes} bytes");
            var e = Assert.Throws<DatasetException>(() => ImageFolderReader.ReadRgb(big));
            Assert.Contains("flat.png", e.Message);
            Assert.Contains("2048x1024", e.Message);

            var small = Path.Combine(dir, "small.png");
            using (var img = new Image<Rgb24>(1024, 1024)) img.SaveAsPng(small); // 1 Mpx: within the budget any file has
            Assert.Equal(1024, ImageFolderReader.ReadRgb(small).Width);
        }
        finally { Directory.Delete(dir, true); }
    }
}

using System.Text.Json;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Compression.Quantization;
using DeepShrink.Nn.IO;
using DeepShrink.Onnx.Tests;
using Google.Protobuf;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static DeepShrink.Onnx.Tests.OnnxModelBuilder;

namespace DeepShrink.EndToEnd.Tests;

/// <summary>A model whose metadata records BGR gets colour image folders with red and blue swapped, through the one path every verb uses.</summary>
[Collection("cli")]
public class ChannelOrderCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("deepshrink-order-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private string P(string name) => Path.Combine(_dir, name);

    /// <summary>Two classes of 4x4 PNGs whose red, green and blue planes differ.</summary>
    private string ColourFolder()
    {
        foreach (var split in new[] { "train", "test" })
            for (int cls = 0; cls < 2; cls++)
                for (int i = 0; i < 2; i++)
                {
                    var path = P($"img/{split}/c{cls}/{i}.png");
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    using var img = new Image<Rgb24>(4, 4);
                    for (int y = 0; y < 4; y++)
                        for (int x = 0; x < 4; x++) img[x, y] = new Rgb24((byte)(20 + 10 * x + cls), (byte)(90 + 5 * y), (byte)(220 - 7 * i));
                    img.SaveAsPng(path);
                }
        return P("img");
    }

    /// <summary>An imported 3-channel CNN checkpoint (ImageNet normalisation) and a copy whose metadata marks it BGR.</summary>
    private (string Rgb, string Bgr) Models()
    {
        var b = new OnnxModelBuilder(13, null, [3, 4, 4]);
        var c = b.Node("Relu", [b.Node("Conv", ["x", b.Init([4, 3, 3, 3]), b.Init([4])], Ints("pads", 1, 1, 1, 1))]);
        var y = b.Node("Gemm", [b.Node("Flatten", [b.Node("GlobalAveragePool", [c])]), b.Init([2, 4]), b.Init([2])], Int("transB", 1));
        File.WriteAllBytes(P("m.onnx"), b.Build(y).ToByteArray());
        var (code, _, err) = CliEndToEndTests.Run("import", "--model", P("m.onnx"), "--out", P("rgb.safetensors"), "--normalization", "imagenet");
        Assert.True(code == 0, err);
        var m = ModelIO.Load(P("rgb.safetensors"), InputHooks.Factories);
        var meta = new Dictionary<string, string>(m.Metadata) { [ModelIO.ValidationCountKey] = "2" };
        meta.Remove(ModelIO.GraphKey);
        ModelIO.Save(P("rgb.safetensors"), m.Model, meta);
        meta[ModelIO.ChannelOrderKey] = "2,1,0";
        ModelIO.Save(P("bgr.safetensors"), m.Model, meta);
        return (P("rgb.safetensors"), P("bgr.safetensors"));
    }

    [Fact]
    public void BgrModel_GetsSwappedImages_InEveryVerbsDataPath()
    {
        var folder = ColourFolder();
        var (rgbPath, bgrPath) = Models();
        var rgbModel = ModelFiles.Open(rgbPath);
        var bgrModel = ModelFiles.Open(bgrPath);
        Assert.Null(rgbModel.Input.ChannelOrder);
        Assert.Equal(new[] { 2, 1, 0 }, bgrModel.Input.ChannelOrder);
        // the trainable load (train / fine-tune, compress, distill) reads the same
        Assert.Equal(new[] { 2, 1, 0 }, ModelInput.FromMetadata(ModelFiles.LoadTrainable(bgrPath).Meta).ChannelOrder);

        var rgb = DataArgs.Load("imagefolder:" + folder, 0, 1, rgbModel.Input, allowInstall: false).Test;
        var bgr = DataArgs.Load("imagefolder:" + folder, 0, 1, bgrModel.Input, allowInstall: false).Test;
        var norm = bgrModel.Input.Normalization!; // ImageNet constants, applied per model channel
        for (int i = 0; i < rgb.Count; i++)
        {
            float[] a = rgb.Sample(i), s = bgr.Sample(i);
            for (int ch = 0; ch < 3; ch++)
                for (int p = 0; p < 16; p++)
                {
                    double pixel = a[(2 - ch) * 16 + p] * norm.StdOf(2 - ch) + norm.MeanOf(2 - ch);
                    Assert.Equal((pixel - norm.MeanOf(ch)) / norm.StdOf(ch), s[ch * 16 + p], 4);
                }
        }

        // eval goes through it: the two models differ only in the recorded order, so their losses differ
        double Loss(string model, string json)
        {
            var (code, _, err) = CliEndToEndTests.Run("eval", "--model", model, "--dataset", "imagefolder:" + folder, "--json", P(json));
            Assert.True(code == 0, err);
            return JsonDocument.Parse(File.ReadAllText(P(json))).RootElement.GetProperty("loss").GetDouble();
        }
        Assert.NotEqual(Loss(rgbPath, "rgb.json"), Loss(bgrPath, "bgr.json"), 6);
    }

    [Fact]
    public void CompressTeacher_WithAnotherOrder_IsRefused()
    {
        var folder = ColourFolder();
        var (rgbPath, bgrPath) = Models();
        var (code, _, err) = CliEndToEndTests.Run("compress", "--model", rgbPath, "--recipe", "depthwise-separable", "--teacher", bgrPath,
            "--dataset", "imagefolder:" + folder, "--out", P("x.dsz"));
        Assert.NotEqual(0, code);
        Assert.Contains("reads colour channels in another order (2,1,0) than the model (0,1,2)", err);
        Assert.False(File.Exists(P("x.dsz")));
    }

    [Fact]
    public void MalformedOrder_InMetadata_IsOneLineError()
    {
        var e = Assert.Throws<CliException>(() => ModelInput.FromMetadata(k => k == ModelIO.ChannelOrderKey ? "2,2,0" : null));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("channel order", e.Message);
    }
}

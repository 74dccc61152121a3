using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using DeepShrink.Data;
using SkiaSharp;
using Xunit.Abstractions;

namespace DeepShrink.Report.Tests;

/// <summary>
/// compress --report, report and inspect --plot on a small synthetic run: every plot is in the HTML as a decodable,
/// non-blank PNG, nothing refers to the network, and headless Chromium (offline) decodes every image and paints them.
/// </summary>
[Collection("cli")]
public partial class ReportRenderTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("deepshrink-report-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private string P(string name) => Path.Combine(_dir, name);

    internal static (int Code, string Out, string Err) Run(params string[] args) => DeepShrink.Tests.Shared.InProcessCli.Run(args);

    [GeneratedRegex("<img data-plot=\"([a-z-]+)\" width=\"(\\d+)\" height=\"(\\d+)\"[^>]*src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"")]
    private static partial Regex ImgTag();

    private static Dictionary<string, int> CheckImages(string html)
    {
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html); // self-contained: nothing fetched
        var kinds = new Dictionary<string, int>();
        foreach (Match m in ImgTag().Matches(html))
        {
            kinds[m.Groups[1].Value] = kinds.GetValueOrDefault(m.Groups[1].Value) + 1;
            using var bmp = SKBitmap.Decode(Convert.FromBase64String(m.Groups[4].Value));
            Assert.NotNull(bmp);
            Assert.Equal(int.Parse(m.Groups[2].Value), bmp.Width);
            Assert.Equal(int.Parse(m.Groups[3].Value), bmp.Height);
            Assert.True(Colours(bmp) > 8, $"{m.Groups[1].Value} plot is blank");
        }
        Assert.Equal(Regex.Matches(html, "<img ").Count, kinds.Values.Sum());
        return kinds;
    }

    private static int Colours(SKBitmap bmp)
    {
        var seen = new HashSet<uint>();
        for (int y = 0; y < bmp.Height; y += 3)
            for (int x = 0; x < bmp.Width; x += 3) seen.Add((uint)bmp.GetPixel(x, y));
        return seen.Count;
    }

    [SkippableFact]
    public void CompressReport_HasEveryPlot_AndRendersOfflineInChromium()
    {
        var data = P("idx");
        SyntheticData.WriteIdxDirectory(data, 1200, 400, numClasses: 10, seed: 5);
        File.WriteAllText(P("auto.yaml"), """
            version: 1
            training: {optimizer: sgd, lr: 0.02, momentum: 0.9, batch_size: 64}
            components:
              pruner: {type: magnitude-pruning, max_drop: 20, layers: [{match: "*.bias", skip: true}]}
              quantizer: {type: weight-sharing, bits: {conv: 8, fc: 4}, layers: [{match: "*.bias", skip: true}]}
              encoder: {type: huffman}
            policies:
              - {component: pruner, start_epoch: 0, end_epoch: 2, frequency: 1}
              - {component: quantizer, start_epoch: 2, end_epoch: 3}
              - {component: encoder, start_epoch: 3}
            """);
        var t = Run("train", "--model", "lenet-300-100", "--dataset", "idx:" + data, "--epochs", "2", "--val", "200", "--out", P("m.safetensors"));
        Assert.True(t.Code == 0, t.Err);
        var c = Run("compress", "--model", P("m.safetensors"), "--recipe", P("auto.yaml"), "--max-drop", "20", "--out", P("m.dsz"), "--json", P("run.json"), "--report", P("run.html"));
        Assert.True(c.Code == 0, c.Err);
        Assert.Contains("report: ", c.Out);

        var run = JsonDocument.Parse(File.ReadAllText(P("run.json"))).RootElement;
        var trace = run.GetProperty("trace");
        Assert.Equal(3, trace.GetProperty("layer_error").GetArrayLength()); // automatic targets: one error curve per weight
        int attempts = run.GetProperty("attempts").GetArrayLength();
        Assert.Equal(3 * attempts, trace.GetProperty("epochs").GetArrayLength()); // every retraining epoch of every attempt
        Assert.Equal(["input", "after pruner", "after quantizer", "final"], trace.GetProperty("snapshots").EnumerateArray().Select(s => s.GetProperty("stage").GetString()));
        Assert.StartsWith("./deepshrink compress ", run.GetProperty("command").GetString());
        var energy = run.GetProperty("energy");
        Assert.True(energy.GetProperty("compressed").GetProperty("weight_bytes_fetched").GetInt64() < energy.GetProperty("dense").GetProperty("weight_bytes_fetched").GetInt64() / 5);

        var kinds = CheckImages(File.ReadAllText(P("run.html")));
        Assert.Equal(3, kinds["histogram"]);
        foreach (var k in new[] { "sensitivity", "bytes", "bytes-split", "pareto-size", "pareto-latency", "training" }) Assert.Equal(1, kinds.GetValueOrDefault(k));

        // Several runs and a model file that was not compressed here in one report; inspect --plot on a checkpoint.
        var r = Run("report", P("run.json"), P("m.dsz"), "--out", P("all.html"), "--json", P("all.json"));
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(3 + 3, CheckImages(File.ReadAllText(P("all.html")))["histogram"]);
        var i = Run("inspect", P("m.safetensors"), "--plot", P("inspect.html"), "--json", P("inspect.json"));
        Assert.True(i.Code == 0, i.Err);
        Assert.Equal(3, CheckImages(File.ReadAllText(P("inspect.html")))["histogram"]);
        Assert.True(JsonDocument.Parse(File.ReadAllText(P("inspect.json"))).RootElement.GetProperty("energy").GetProperty("dense").GetProperty("total_dram_uj").GetDouble() > 0);

        RenderInChromium(P("all.html"));
    }

    private void RenderInChromium(string html)
    {
        var chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
        bool ci = Environment.GetEnvironmentVariable("CI") == "true";
        Skip.If(chromium is null && !ci, "chromium is not installed (apt-get install -y chromium; .ci/run installs it)");
        Assert.True(chromium is not null, "CI must have chromium (.ci/run installs it)");
        int images = Regex.Matches(File.ReadAllText(html), "<img ").Count;
        // A copy that writes into its title how many images the browser decoded (the report itself has no script).
        var probe = P("probe.html");
        File.WriteAllText(probe, File.ReadAllText(html).Replace("</body>",
            "<script>document.title='decoded:'+[...document.images].filter(i=>i.complete&&i.naturalWidth>0).length</script></body>"));
        var dom = Chromium(chromium!, "--dump-dom", "file://" + probe);
        Assert.Contains($"<title>decoded:{images}</title>", dom);
        var shot = P("shot.png");
        Chromium(chromium!, $"--screenshot={shot}", "--window-size=1600,3000", "file://" + html);
        using var bmp = SKBitmap.Decode(shot);
        Assert.Equal(1600, bmp.Width);
        long ink = 0, total = 0;
        for (int y = 0; y < bmp.Height; y += 2)
            for (int x = 0; x < bmp.Width; x += 2, total++)
            {
                var p = bmp.GetPixel(x, y);
                if (p.Red < 200 || p.Green < 200 || p.Blue < 200) ink++;
            }
        output.WriteLine($"{images} images decoded by chromium; screenshot {bmp.Width}x{bmp.Height}, {100.0 * ink / total:F1}% non-white");
        Assert.True(ink > total / 50, $"screenshot nearly blank ({ink} of {total} sampled pixels inked)");
    }

    private static string Chromium(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        // Offline: no name resolves, so any network reference would fail to load.
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND" }.Concat(args))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("chromium did not finish in 120 s"); }
        Assert.True(p.ExitCode == 0, $"chromium exit {p.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }

    [Theory]
    [InlineData("report", "/nonexistent/run.json", "--out", "x.html")]
    [InlineData("report", "--out", "x.html")]
    [InlineData("inspect", "/nonexistent.dsz", "--plot", "x.html")]
    public void BadInput_GivesOneLineError(params string[] args)
    {
        var r = Run(args);
        Assert.NotEqual(0, r.Code);
        Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void NotARunJson_GivesOneLineError_AndWritesNothing()
    {
        File.WriteAllText(P("other.json"), "{\"accuracy\": 0.9}");
        var r = Run("report", P("other.json"), "--out", P("x.html"));
        Assert.Equal(1, r.Code);
        Assert.Contains("not a compress --json run", r.Err);
        Assert.False(File.Exists(P("x.html")));
    }
}

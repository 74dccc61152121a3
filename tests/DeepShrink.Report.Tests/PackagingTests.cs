using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using DeepShrink.Data;
using DeepShrink.Runtime;
using Xunit.Abstractions;

namespace DeepShrink.Report.Tests;

/// <summary>
/// Packs the libraries (DeepShrink.Packages.slnx) into a local folder feed, restores the samples from it in a clean
/// copy (own package cache, so nothing stale is reused), runs the README example (samples/Consumer) on a model trained
/// for one epoch on Fashion-MNIST, and serves its .dsz with samples/PredictServer.
/// </summary>
public sealed class PackedSamples : IDisposable
{
    public string Root { get; }
    public string Dir { get; } = Directory.CreateTempSubdirectory("deepshrink-pack-").FullName;
    public string Dsz => Path.Combine(Dir, "consumer.dsz");
    public string ConsumerOutput { get; }

    public PackedSamples()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "DeepShrink.Packages.slnx"))) d = d.Parent;
        Root = d?.FullName ?? throw new InvalidOperationException("repository root (DeepShrink.Packages.slnx) not found");
        var feed = Path.Combine(Dir, "feed");
        Dotnet(Root, false, "pack", Path.Combine(Root, "DeepShrink.Packages.slnx"), "-c", "Release", "-o", feed, "-nologo", "-v", "q");
        foreach (var id in new[] { "Core", "Nn", "Data", "Format", "Compression", "Runtime", "Onnx", "Report" })
            if (!File.Exists(Path.Combine(feed, $"DeepShrink.{id}.0.1.0.nupkg"))) throw new InvalidOperationException($"DeepShrink.{id} was not packed");
        CopyDirectory(Path.Combine(Root, "samples"), Path.Combine(Dir, "samples"));
        File.WriteAllText(Path.Combine(Dir, "samples", "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><add key="deepshrink-local" value="{feed}" /></packageSources></configuration>
            """);
        var (code, _, err) = ReportRenderTests.Run("train", "--model", "lenet-300-100", "--dataset", "fashion-mnist", "--epochs", "1", "--out", Path.Combine(Dir, "m.safetensors"));
        if (code != 0) throw new InvalidOperationException("train failed: " + err);
        ConsumerOutput = Dotnet(Dir, true, "run", "--project", Path.Combine(Dir, "samples", "Consumer"), "-c", "Release", "--", Path.Combine(Dir, "m.safetensors"), Dsz);
    }

    /// <summary>Runs dotnet (restoring into a package cache of its own when <paramref name="isolated"/>); throws with the output when it fails.</summary>
    public string Dotnet(string cwd, bool isolated, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (isolated) psi.Environment["NUGET_PACKAGES"] = Path.Combine(Dir, "packages");
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync(); var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(600_000)) { p.Kill(true); throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish in 10 min"); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"dotnet {string.Join(' ', args)} failed ({p.ExitCode}): {o.Result}\n{e.Result}");
        return o.Result;
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(from, f);
            if (rel.Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj")) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, rel))!);
            File.Copy(f, Path.Combine(to, rel));
        }
    }

    public void Dispose() { try { Directory.Delete(Dir, true); } catch (IOException) { } }
}

[Collection("cli")]
public class PackagingTests(PackedSamples packed, ITestOutputHelper output) : IClassFixture<PackedSamples>
{
    [Fact]
    public void ReadmeExample_FromPackages_WritesADszThatEvalAccepts()
    {
        output.WriteLine(packed.ConsumerOutput);
        Assert.Contains("consumer.dsz: ", packed.ConsumerOutput);
        var json = Path.Combine(packed.Dir, "eval.json");
        var e = ReportRenderTests.Run("eval", "--model", packed.Dsz, "--json", json);
        Assert.True(e.Code == 0, e.Err);
        double accuracy = JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetProperty("accuracy").GetDouble();
        Assert.True(accuracy > 0.75, $"the compressed LeNet-300-100 classifies Fashion-MNIST at {accuracy:P2}");
        Assert.Contains($"-> {accuracy:P2}", packed.ConsumerOutput); // the library and the CLI measure the same file alike
    }

    [Fact]
    public async Task PredictServer_Answers1000RequestsOnLoopback_WithTheRuntimesPredictions()
    {
        var bin = Path.Combine(packed.Dir, "server");
        packed.Dotnet(packed.Dir, true, "build", Path.Combine(packed.Dir, "samples", "PredictServer"), "-c", "Release", "-o", bin, "-nologo", "-v", "q");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(bin, "PredictServer.dll"), "--Model", packed.Dsz, "--urls", "http://127.0.0.1:0" }) psi.ArgumentList.Add(a);
        using var server = Process.Start(psi)!;
        try
        {
            string? url = null;
            var until = DateTime.UtcNow.AddSeconds(60);
            while (url is null && DateTime.UtcNow < until && server.StandardOutput.ReadLine() is { } line)
                if (line.Contains("Now listening on: ")) url = line[(line.IndexOf("http", StringComparison.Ordinal))..].Trim();
            Assert.True(url is not null, "the server did not report its address: " + (server.HasExited ? server.StandardError.ReadToEnd() : "still running"));
            _ = server.StandardOutput.ReadToEndAsync(); // keep draining the log

            var data = DatasetLoader.Load(DatasetSpec.Parse("fashion-mnist"), new DatasetLoadOptions { Normalization = Normalization.FashionMnist });
            var runtime = InferenceModel.Load(packed.Dsz);
            using var http = new HttpClient { BaseAddress = new Uri(url!) };
            var bad = await http.PostAsJsonAsync("/predict", new { pixels = new float[3] });
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);

            var times = new List<double>();
            int correct = 0;
            for (int i = 0; i < 1000; i++)
            {
                var x = data.Test.Sample(i);
                long t0 = Stopwatch.GetTimestamp();
                var resp = await http.PostAsJsonAsync("/predict", new { pixels = x });
                resp.EnsureSuccessStatusCode();
                var body = await resp.Content.ReadFromJsonAsync<JsonElement>();
                times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                var expected = runtime.Run(x, 1);
                var logits = body.GetProperty("logits").EnumerateArray().Select(v => v.GetSingle()).ToArray();
                Assert.Equal(expected, logits); // bit-identical: same runtime, same input (JSON round-trips floats)
                int label = body.GetProperty("label").GetInt32();
                Assert.Equal(Array.IndexOf(expected, expected.Max()), label);
                if (label == data.Test.Label(i)) correct++;
            }
            Assert.True(correct > 750, $"{correct} of 1000 served predictions match the labels");
            times.Sort();
            var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?";
            output.WriteLine($"1000 requests: median {times[500]:F3} ms, p90 {times[900]:F3} ms, p99 {times[990]:F3} ms, mean {times.Average():F3} ms; {correct}/1000 correct; loadavg {load}");
        }
        finally { if (!server.HasExited) server.Kill(true); }
    }
}

using System.Text.Json;
using DeepShrink.Core;
using DeepShrink.Nn.IO;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.EndToEnd.Tests;

/// <summary><c>bench compare</c> on small untrained models: every key, identical models agree, bad input fails in one line.</summary>
[Collection("cli")] // the CLI writes to Console: run these one at a time
public class BenchCompareTests : IDisposable
{
    private static readonly string[] Keys =
    [
        "baseline_b1_ms", "candidate_b1_ms", "b1_speedup", "b8_speedup", "ort_baseline_b1_ms", "ort_candidate_b1_ms",
        "candidate_b1_vs_ort_baseline", "candidate_b1_vs_ort_candidate", "baseline_params", "candidate_params",
        "baseline_flops", "candidate_flops", "baseline_bytes", "candidate_bytes", "output_max_abs_diff",
        "threads", "image_size", "load_avg", "load_avg_1m_start",
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("deepshrink-compare-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private string P(string name) => Path.Combine(_dir, name);

    private static JsonElement Compare(string a, string b, string json)
    {
        var r = CliEndToEndTests.Run("bench", "compare", "--baseline", a, "--candidate", b, "--rounds", "2", "--seconds", "0.1", "--json", json);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("ours b1 ms", r.Out);
        return JsonDocument.Parse(File.ReadAllText(json)).RootElement;
    }

    [Fact]
    public void Checkpoint_Vs_ItsDsz_HasEveryKey_AndIdenticalOutputs()
    {
        var model = ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng(5));
        ModelIO.Save(P("a.safetensors"), model, "lenet-300-100", new ModelConfig());
        ModelIO.WriteDsz(P("a.dsz"), model, "lenet-300-100", new ModelConfig(), (_, _) => null, new Dictionary<string, string>());
        var j = Compare(P("a.safetensors"), P("a.dsz"), P("c.json"));
        foreach (var k in Keys) Assert.True(j.TryGetProperty(k, out _), $"missing key {k}");
        Assert.Equal(2, j.GetProperty("threads").GetInt32());
        Assert.Equal(28, j.GetProperty("image_size").GetInt32());
        Assert.True(j.GetProperty("output_max_abs_diff").GetDouble() < 1e-4, $"diff {j.GetProperty("output_max_abs_diff")}");
        long p = j.GetProperty("baseline_params").GetInt64();
        Assert.Equal(784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10, p);
        Assert.Equal(p, j.GetProperty("candidate_params").GetInt64());
        Assert.Equal(j.GetProperty("baseline_flops").GetInt64(), j.GetProperty("candidate_flops").GetInt64());
        Assert.Equal(2L * (784 * 300 + 300 * 100 + 100 * 10), j.GetProperty("baseline_flops").GetInt64());
        Assert.Equal(new FileInfo(P("a.safetensors")).Length, j.GetProperty("baseline_bytes").GetInt64());
        Assert.Equal(new FileInfo(P("a.dsz")).Length, j.GetProperty("candidate_bytes").GetInt64());
        foreach (var k in new[] { "baseline_b1_ms", "candidate_b1_ms", "ort_baseline_b1_ms", "ort_candidate_b1_ms", "b1_speedup", "b8_speedup" })
            Assert.True(j.GetProperty(k).GetDouble() > 0, $"{k} = {j.GetProperty(k)}");
        Assert.True(j.GetProperty("candidate_vs_ort_max_abs_diff").GetDouble() < 1e-3);
        // LeNet-300-100 is too small per image (266 k multiply-adds) to share a batch of 8 out image by image
        Assert.Equal(0, j.GetProperty("baseline_b8_images_per_thread").GetInt32());
        Assert.Equal(0, j.GetProperty("candidate_b8_images_per_thread").GetInt32());
        if (Environment.ProcessorCount >= 2)
        {   // two threads: the cores' round trip before each batch size and at the end, a time in nanoseconds: ~80-400 ns on
            // an idle machine, up to a few scheduler slices (measured 0.2-1.2 ms) when other processes hold both cores
            var trips = j.GetProperty("core_round_trip_ns").EnumerateArray().Select(t => t.GetDouble()).ToArray();
            Assert.Equal(3, trips.Length);
            Assert.All(trips, t => Assert.InRange(t, 1, 100_000_000));
        }
    }

    [Fact]
    public void DifferentModels_DifferentOutputs_AndDifferentParams()
    {
        ModelIO.Save(P("a.safetensors"), ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng(1)), "lenet-300-100", new ModelConfig());
        ModelIO.Save(P("b.safetensors"), ModelZoo.Create("lenet-5", new ModelConfig(), new Rng(2)), "lenet-5", new ModelConfig());
        var j = Compare(P("a.safetensors"), P("b.safetensors"), P("d.json"));
        Assert.True(j.GetProperty("output_max_abs_diff").GetDouble() > 1e-3);
        Assert.NotEqual(j.GetProperty("baseline_params").GetInt64(), j.GetProperty("candidate_params").GetInt64());
        Assert.NotEqual(j.GetProperty("baseline_flops").GetInt64(), j.GetProperty("candidate_flops").GetInt64());
    }

    [Fact]
    public void OnnxFile_AsBaseline_RunsAsIs_AndMatchesItsCheckpoint()
    {
        var model = ModelZoo.Create("lenet-5", new ModelConfig(), new Rng(7));
        ModelIO.Save(P("m.safetensors"), model, "lenet-5", new ModelConfig());
        DeepShrink.Onnx.OnnxExport.FromModule(model, model.InputShape, new Dictionary<string, string>(), P("m.onnx"));
        var j = Compare(P("m.onnx"), P("m.safetensors"), P("o.json"));
        Assert.Equal("onnx", j.GetProperty("baseline_kind").GetString());
        Assert.True(j.GetProperty("output_max_abs_diff").GetDouble() < 1e-4, $"diff {j.GetProperty("output_max_abs_diff")}");
        Assert.Equal(j.GetProperty("baseline_params").GetInt64(), j.GetProperty("candidate_params").GetInt64());
        Assert.Equal(j.GetProperty("baseline_flops").GetInt64(), j.GetProperty("candidate_flops").GetInt64());
        Assert.True(j.GetProperty("baseline_vs_ort_max_abs_diff").GetDouble() < 1e-3);
        // LeNet-5 (2.3 M multiply-adds an image) runs a batch of 8 on 2 threads image by image, 4 images each
        Assert.Equal(4, j.GetProperty("baseline_b8_images_per_thread").GetInt32());
        Assert.Equal(4, j.GetProperty("candidate_b8_images_per_thread").GetInt32());
    }

    [Theory]
    [InlineData("--baseline", "/nonexistent/a.safetensors", "--candidate", "/nonexistent/b.dsz")]
    [InlineData("--rounds", "0")]
    [InlineData("--image-size", "224")]
    public void BadInput_GivesOneLineError_AndNonZeroExit(params string[] args)
    {
        var model = ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng(3));
        ModelIO.Save(P("m.safetensors"), model, "lenet-300-100", new ModelConfig());
        var full = new List<string> { "bench", "compare", "--seconds", "0.05" };
        if (!args.Contains("--baseline")) full.AddRange(["--baseline", P("m.safetensors"), "--candidate", P("m.safetensors")]);
        full.AddRange(args);
        var r = CliEndToEndTests.Run(full.ToArray());
        Assert.NotEqual(0, r.Code);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error:", lines[0]);
    }
}

using System.Text.Json;
using DeepShrink.Data;

namespace DeepShrink.EndToEnd.Tests;

/// <summary>The verbs run in-process on a small synthetic IDX dataset: train -> compress -> eval -> inspect, and bad input.</summary>
[Collection("cli")] // the CLI writes to Console: run these one at a time
public class CliEndToEndTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("deepshrink-e2e-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    internal static (int Code, string Out, string Err) Run(params string[] args) => DeepShrink.Tests.Shared.InProcessCli.Run(args);

    private string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public void Train_Compress_Eval_Inspect_RoundTrip()
    {
        var data = Path.Combine(_dir, "idx");
        SyntheticData.WriteIdxDirectory(data, 1200, 400, numClasses: 10, seed: 3);
        var recipe = P("quick.yaml");
        File.WriteAllText(recipe, """
            version: 1
            training: {optimizer: sgd, lr: 0.02, momentum: 0.9, batch_size: 64}
            components:
              pruner: {type: magnitude-pruning, sparsity: 0.8, layers: [{match: "*.bias", skip: true}]}
              quantizer: {type: weight-sharing, bits: {conv: 8, fc: 4}, layers: [{match: "*.bias", skip: true}]}
              encoder: {type: huffman}
            policies:
              - {component: pruner, start_epoch: 0, end_epoch: 2, frequency: 1}
              - {component: quantizer, start_epoch: 2, end_epoch: 3}
              - {component: encoder, start_epoch: 3}
            """);
        var t = Run("train", "--model", "lenet-300-100", "--dataset", "idx:" + data, "--epochs", "3", "--val", "200",
            "--out", P("m.safetensors"), "--json", P("train.json"), "--threads", "1");
        Assert.True(t.Code == 0, t.Err);
        var train = JsonDocument.Parse(File.ReadAllText(P("train.json"))).RootElement;
        Assert.True(train.GetProperty("accuracy").GetDouble() > 0.5, "synthetic blobs are separable");

        var c = Run("compress", "--model", P("m.safetensors"), "--recipe", recipe, "--out", P("m.dsz"), "--json", P("c.json"));
        Assert.True(c.Code == 0, c.Err);
        var comp = JsonDocument.Parse(File.ReadAllText(P("c.json"))).RootElement;
        long bytes = comp.GetProperty("compressed_bytes").GetInt64();
        Assert.Equal(new FileInfo(P("m.dsz")).Length, bytes);
        Assert.True(comp.GetProperty("ratio").GetDouble() > 10, $"ratio {comp.GetProperty("ratio")}");

        var e = Run("eval", "--model", P("m.dsz"), "--json", P("e.json"));
        Assert.True(e.Code == 0, e.Err);
        var ev = JsonDocument.Parse(File.ReadAllText(P("e.json"))).RootElement;
        Assert.Equal(comp.GetProperty("compressed_accuracy").GetDouble(), ev.GetProperty("accuracy").GetDouble(), 6);

        var i = Run("inspect", P("m.dsz"), "--json", P("i.json"));
        Assert.True(i.Code == 0, i.Err);
        Assert.Contains("sparse-codebook", File.ReadAllText(P("i.json")));
    }

    [Fact]
    public void Distill_ReportsTheValidationAccuracyOfEveryEpoch()
    {
        var data = Path.Combine(_dir, "idx");
        SyntheticData.WriteIdxDirectory(data, 1200, 400, numClasses: 10, seed: 5);
        var t = Run("train", "--model", "lenet-300-100", "--dataset", "idx:" + data, "--epochs", "2", "--val", "200",
            "--out", P("t.safetensors"), "--threads", "1");
        Assert.True(t.Code == 0, t.Err);
        var d = Run("distill", "--teacher", P("t.safetensors"), "--student", "teacher:0.5", "--epochs", "3", "--val", "200",
            "--out", P("s.safetensors"), "--json", P("d.json"), "--threads", "1");
        Assert.True(d.Code == 0, d.Err);
        var history = JsonDocument.Parse(File.ReadAllText(P("d.json"))).RootElement.GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(3, history.Count);
        var val = history.Select(h => h.GetProperty("val_accuracy").GetDouble()).ToList();
        Assert.All(val, v => Assert.InRange(v, 0.0, 1.0));
        Assert.True(val[^1] > 0.5, $"validation accuracy {val[^1]} on separable blobs");
        Assert.Contains("validation", d.Out);

        // --checkpoint: one-line refusals that keep an existing file, and a run that writes one and removes it at the end
        string[] common = ["distill", "--teacher", P("t.safetensors"), "--student", "teacher:0.5", "--epochs", "3", "--val", "200", "--threads", "1"];
        var ck = P("d.ck");
        File.WriteAllText(ck, "not a checkpoint");
        foreach (var (extra, message) in new (string[], string)[]
        {
            (["--checkpoint", ck], "pass --resume to continue that run"),
            (["--checkpoint", ck, "--resume"], "not a readable distillation checkpoint"),
            (["--resume"], "--resume needs --checkpoint"),
            (["--checkpoint", P("s2.safetensors")], "--checkpoint must differ from --out"),
        })
        {
            var r = Run([.. common, "--out", P("s2.safetensors"), .. extra]);
            Assert.Equal(2, r.Code);
            Assert.Contains(message, r.Err);
            Assert.Single(r.Err.Trim().Split('\n'));
            Assert.Equal("not a checkpoint", File.ReadAllText(ck));
            Assert.False(File.Exists(P("s2.safetensors")));
        }
        File.Delete(ck);
        var c = Run([.. common, "--out", P("s2.safetensors"), "--json", P("d2.json"), "--checkpoint", ck, "--resume"]);
        Assert.True(c.Code == 0, c.Err);
        Assert.Contains("no checkpoint", c.Out);
        Assert.False(File.Exists(ck)); // removed once the student is written
        var d2 = JsonDocument.Parse(File.ReadAllText(P("d2.json"))).RootElement;
        Assert.Equal(0, d2.GetProperty("resumed_epochs").GetInt32());
        Assert.Equal(File.ReadAllBytes(P("s.safetensors")), File.ReadAllBytes(P("s2.safetensors"))); // checkpoints change nothing
    }

    [Theory]
    [InlineData("train", "--model", "lenet-9", "--out", "x.safetensors")]
    [InlineData("eval", "--model", "/nonexistent/m.safetensors")]
    [InlineData("train", "--dataset", "idx:/nonexistent", "--out", "x.safetensors")]
    [InlineData("compress", "--model", "/nonexistent.safetensors", "--out", "x.dsz")]
    [InlineData("compress", "--model", "/nonexistent.safetensors", "--teacher", "/nonexistent-t.safetensors", "--out", "x.dsz")]
    [InlineData("train", "--epochs", "banana", "--out", "x.safetensors")]
    [InlineData("frobnicate")]
    [InlineData("bench", "models", "--int8", "/nonexistent-a.dsz", "--binary", "/nonexistent-b.dsz")]
    [InlineData("bench", "models", "--binary", "/nonexistent.dsz")]
    public void BadInput_GivesOneLineError_AndNonZeroExit(params string[] args)
    {
        var r = Run(args);
        Assert.NotEqual(0, r.Code);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length >= 1 && lines[0].StartsWith("error: "), r.Err);
        Assert.DoesNotContain("   at ", r.Err); // no stack trace without --verbose
    }

    [Fact]
    public void CorruptDsz_IsAOneLineError_AndLeavesNoOutput()
    {
        File.WriteAllBytes(P("bad.dsz"), new byte[] { 0x89, (byte)'D', (byte)'S', (byte)'Z', 1, 2, 3 });
        var r = Run("eval", "--model", P("bad.dsz"));
        Assert.Equal(1, r.Code);
        Assert.StartsWith("error: ", r.Err);
        var x = Run("export", "--model", P("bad.dsz"), "--format", "onnx", "--out", P("bad.onnx"));
        Assert.NotEqual(0, x.Code);
        Assert.False(File.Exists(P("bad.onnx")));
    }
}

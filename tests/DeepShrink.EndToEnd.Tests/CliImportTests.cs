using System.Text.Json;
using DeepShrink.Core.Graph;
using DeepShrink.Data;
using DeepShrink.Format;
using DeepShrink.Onnx.Tests;
using Google.Protobuf;
using static DeepShrink.Onnx.Tests.OnnxModelBuilder;

namespace DeepShrink.EndToEnd.Tests;

/// <summary>The <c>import</c> verb in-process on generated ONNX files.</summary>
[Collection("cli")]
public class CliImportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("deepshrink-import-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private static (int Code, string Out, string Err) Run(params string[] args) => CliEndToEndTests.Run(args);

    private string P(string name) => Path.Combine(_dir, name);

    private string WriteSmallCnn(string name, string? extraOp = null)
    {
        var b = new OnnxModelBuilder(13, null, [3, 12, 12]);
        var c = b.Node("Conv", ["x", b.Init([8, 3, 3, 3]), b.Init([8])], Ints("pads", 1, 1, 1, 1), Ints("strides", 2, 2));
        var bn = b.Node("BatchNormalization", [c, b.Init([8], 0.5f, 1.5f), b.Init([8]), b.Init([8]), b.Init([8], 0.5f, 2f)]);
        var r = b.Node(extraOp ?? "Relu", [bn]);
        var f = b.Node("Flatten", [b.Node("GlobalAveragePool", [r])]);
        var y = b.Node("Gemm", [f, b.Init([10, 8]), b.Init([10])], Int("transB", 1));
        File.WriteAllBytes(P(name), b.Build(y).ToByteArray());
        return P(name);
    }

    [Fact]
    public void Import_WritesGraphCheckpoint_AndChecksParity()
    {
        var onnx = WriteSmallCnn("small.onnx");
        var (code, stdout, err) = Run("import", "--model", onnx, "--out", P("small.safetensors"), "--normalization", "imagenet", "--check", "4", "--json", P("r.json"));
        Assert.True(code == 0, err);
        Assert.Contains("imported small.onnx", stdout);
        var ck = Checkpoint.Load(P("small.safetensors"));
        var g = ModelGraph.FromJson(ck.Metadata["deepshrink.graph"]);
        Assert.Equal(["conv2d", "batchnorm", "relu", "global_avgpool2d", "flatten", "linear"], g.Nodes.Select(n => n.Op).ToArray());
        Assert.Equal("small.onnx", ck.Metadata["deepshrink.source"]);
        Assert.Equal([0.485f, 0.456f, 0.406f], Normalization.FromJson(ck.Metadata["deepshrink.normalization"]).Mean);
        Assert.Equal(ck.Tensors.Keys.Order(), g.ParameterNames().Order());
        using var json = JsonDocument.Parse(File.ReadAllText(P("r.json")));
        var root = json.RootElement;
        Assert.Equal(8 * 27 + 8 + 4 * 8 + 10 * 8 + 10, root.GetProperty("params").GetInt64());
        Assert.True(root.GetProperty("parity_max_abs_diff").GetDouble() < 1e-4);
        Assert.True(root.GetProperty("parity_cosine_min").GetDouble() > 0.99999);
    }

    [Fact]
    public void Inspect_OnnxFile_ListsTheImportedLayers_AndPlotIsAClearError()
    {
        var onnx = WriteSmallCnn("insp.onnx");
        var (code, stdout, err) = Run("inspect", onnx, "--json", P("insp.json"));
        Assert.True(code == 0, err);
        Assert.Contains("ONNX model, imported", stdout);
        using var json = JsonDocument.Parse(File.ReadAllText(P("insp.json")));
        var root = json.RootElement;
        Assert.Equal(8 * 27 + 8 + 4 * 8 + 10 * 8 + 10, root.GetProperty("parameters").GetInt64());
        // conv: 8 outputs of 6 x 6, 27 MACs each; linear: 10 x 8
        Assert.Equal(8 * 36 * 27 + 10 * 8, root.GetProperty("macs").GetInt64());
        Assert.Equal(new FileInfo(onnx).Length, root.GetProperty("file_bytes").GetInt64());
        var (pcode, _, perr) = Run("inspect", onnx, "--plot", P("insp.html"));
        Assert.NotEqual(0, pcode);
        Assert.Contains("import", perr);
        Assert.False(File.Exists(P("insp.html")));
    }

    [Fact]
    public void Import_UnsupportedOperator_OneLineError_NothingWritten()
    {
        var onnx = WriteSmallCnn("bad.onnx", extraOp: "Softplus");
        var (code, _, err) = Run("import", "--model", onnx, "--out", P("bad.safetensors"));
        Assert.NotEqual(0, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("unsupported ONNX operator 'Softplus'", err);
        Assert.Contains("opset 13", err);
        Assert.False(File.Exists(P("bad.safetensors")));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    private string Idx()
    {
        if (!Directory.Exists(P("idx"))) SyntheticData.WriteIdxDirectory(P("idx"), 300, 100, numClasses: 10, seed: 5);
        return "idx:" + P("idx");
    }

    [Fact]
    public void Train_OnnxModel_NewHead_LinearProbe_KeepsBackbone_AndEvaluates()
    {
        var onnx = WriteSmallCnn("probe.onnx");
        var (code, stdout, err) = Run("train", "--model", onnx, "--head", "10", "--freeze", "backbone", "--dataset", Idx(), "--val", "50",
            "--image-size", "12", "--channels", "3", "--epochs", "2", "--out", P("probe.safetensors"), "--json", P("probe.json"));
        Assert.True(code == 0, err);
        Assert.Contains("linear probe", stdout);
        var imported = Checkpoint.Load(P("probe.safetensors"));
        var g = ModelGraph.FromJson(imported.Metadata["deepshrink.graph"]);
        Assert.Equal("linear", g.Nodes[^1].Op);
        Assert.Equal("probe.onnx", imported.Metadata["deepshrink.finetuned_from"]);
        // the conv's weights are the ONNX file's, untouched by the probe
        var reference = DeepShrink.Onnx.Import.OnnxImporter.Import(onnx);
        var conv = g.Nodes.First(n => n.Op == "conv2d").Params["weight"];
        Assert.Equal(reference.Tensors[conv].ToArray(), imported.Tensors[conv].ToArray());
        using var json = JsonDocument.Parse(File.ReadAllText(P("probe.json")));
        Assert.Equal(10 * 8 + 10, json.RootElement.GetProperty("trained_parameters").GetInt64());
        Assert.Equal(12, json.RootElement.GetProperty("image_size").GetInt32());
        var (ecode, eout, eerr) = Run("eval", "--model", P("probe.safetensors"), "--compare-ort", "--samples", "8", "--json", P("eval.json"));
        Assert.True(ecode == 0, eerr);
        using var ej = JsonDocument.Parse(File.ReadAllText(P("eval.json")));
        Assert.True(ej.RootElement.GetProperty("parity_max_abs_diff").GetDouble() < 1e-4, eout);
        Assert.Equal("export", ej.RootElement.GetProperty("parity_onnx").GetString());
        Assert.Equal(json.RootElement.GetProperty("accuracy").GetDouble(), ej.RootElement.GetProperty("accuracy").GetDouble(), 6);
    }

    [Fact]
    public void Train_FineTunesEveryLayer_AtAnotherImageSize()
    {
        var onnx = WriteSmallCnn("ft.onnx");
        var (code, _, err) = Run("train", "--model", onnx, "--head", "10", "--dataset", Idx(), "--val", "50",
            "--image-size", "16", "--channels", "3", "--epochs", "1", "--out", P("ft.safetensors"));
        Assert.True(code == 0, err);
        var ck = Checkpoint.Load(P("ft.safetensors"));
        var g = ModelGraph.FromJson(ck.Metadata["deepshrink.graph"]);
        Assert.Equal([3, 16, 16], g.InputShape);
        var conv = g.Nodes.First(n => n.Op == "conv2d").Params["weight"];
        Assert.NotEqual(DeepShrink.Onnx.Import.OnnxImporter.Import(onnx).Tensors[conv].ToArray(), ck.Tensors[conv].ToArray());
    }

    [Theory]
    [InlineData(new[] { "--head", "7" }, "--head 7, but the dataset has 10 classes")]
    [InlineData(new[] { "--freeze", "backbone" }, "--freeze backbone trains only the new classifier")]
    [InlineData(new[] { "--freeze", "all" }, "--freeze must be none or backbone")]
    public void Train_TransferMistakes_AreOneLineErrors(string[] extra, string message)
    {
        var onnx = WriteSmallCnn("bad-ft.onnx");
        var (code, _, err) = Run(["train", "--model", onnx, "--dataset", Idx(), "--val", "50", "--image-size", "12", "--channels", "3",
            "--epochs", "1", "--out", P("bad-ft.safetensors"), .. extra]);
        Assert.NotEqual(0, code);
        Assert.Contains(message, err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(File.Exists(P("bad-ft.safetensors")));
    }

    [Fact]
    public void Eval_CompareOrt_OnAnOnnxFile_ReportsParity()
    {
        var onnx = WriteSmallCnn("parity.onnx");
        var (code, stdout, err) = Run("eval", "--model", onnx, "--compare-ort", "--samples", "5", "--json", P("p.json"));
        Assert.True(code == 0, err);
        Assert.Contains("parity with ONNX Runtime (original)", stdout);
        using var json = JsonDocument.Parse(File.ReadAllText(P("p.json")));
        Assert.Equal(5, json.RootElement.GetProperty("parity_samples").GetInt32());
        Assert.True(json.RootElement.GetProperty("parity_max_abs_diff").GetDouble() < 1e-4);
        Assert.True(json.RootElement.GetProperty("parity_cosine_min").GetDouble() > 0.99999);
    }

    [Fact]
    public void Fetch_UnknownModel_IsAOneLineError()
    {
        var (code, _, err) = Run("fetch", "resnet-9000");
        Assert.NotEqual(0, code);
        Assert.Contains("unknown model 'resnet-9000'", err);
    }
}

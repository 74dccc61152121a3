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

    [Fact]
    public void Fetch_UnknownModel_IsAOneLineError()
    {
        var (code, _, err) = Run("fetch", "resnet-9000");
        Assert.NotEqual(0, code);
        Assert.Contains("unknown model 'resnet-9000'", err);
    }
}

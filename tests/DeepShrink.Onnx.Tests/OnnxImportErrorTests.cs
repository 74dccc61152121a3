using DeepShrink.Onnx.Import;
using Google.Protobuf;
using Onnx;
using static DeepShrink.Onnx.Tests.OnnxModelBuilder;
using DataType = Onnx.TensorProto.Types.DataType;

namespace DeepShrink.Onnx.Tests;

/// <summary>Unsupported operators and hostile protobuf give one-line <see cref="OnnxImportException"/>s and allocate nothing large.</summary>
public class OnnxImportErrorTests
{
    private static OnnxImportException Fails(ModelProto m, OnnxImportOptions? o = null) => Fails(m.ToByteArray(), o);

    private static OnnxImportException Fails(byte[] bytes, OnnxImportOptions? o = null)
    {
        var e = Assert.Throws<OnnxImportException>(() => OnnxImporter.Import(bytes, o));
        Assert.DoesNotContain('\n', e.Message);
        Assert.IsAssignableFrom<FormatException>(e);
        return e;
    }

    [Theory]
    [InlineData("Resize", 13)]
    [InlineData("LSTM", 7)]
    [InlineData("GlobalMaxPool", 21)]
    public void UnsupportedOperator_NamesOpNodeAndOpset(string op, int opset)
    {
        var b = new OnnxModelBuilder(opset, 1, [2, 4, 4]);
        var y = b.Node(op, ["x"]);
        var e = Fails(b.Build(y));
        Assert.Contains($"'{op}'", e.Message);
        Assert.Contains($"node '{op.ToLowerInvariant()}/0'", e.Message);
        Assert.Contains($"opset {opset}", e.Message);
    }

    [Fact]
    public void OperatorOfAnotherDomain_IsUnsupported()
    {
        var b = new OnnxModelBuilder(13, 1, [2, 4, 4]);
        var y = b.Node("Relu", ["x"]);
        b.Graph.Node[0].Domain = "com.microsoft";
        Assert.Contains("com.microsoft.Relu", Fails(b.Build(y)).Message);
    }

    [Theory]
    [InlineData(6)]
    [InlineData(22)]
    public void OpsetOutsideRange_IsRefused(int opset)
    {
        var b = new OnnxModelBuilder(opset, 1, [2, 4, 4]);
        Assert.Contains($"opset {opset} is not supported", Fails(b.Build(b.Node("Relu", ["x"]))).Message);
    }

    [Fact]
    public void MissingInitializer_IsNamed()
    {
        var b = new OnnxModelBuilder(13, 1, [2, 4, 4]);
        var e = Fails(b.Build(b.Node("Conv", ["x", "no_such_weight"])));
        Assert.Contains("no_such_weight", e.Message);
    }

    [Fact]
    public void Cycle_IsReported()
    {
        var b = new OnnxModelBuilder(13, 1, [2, 4, 4]);
        var a = b.Node("Add", ["x", "Relu_1_0"]);
        b.Node("Relu", [a]);
        Assert.Contains("cycle", Fails(b.Build("Relu_1_0")).Message);
    }

    [Fact]
    public void HugeDeclaredInitializer_FailsBeforeAllocating()
    {
        var b = new OnnxModelBuilder(13, 1, [2, 4, 4]);
        var t = new TensorProto { Name = "huge", DataType = (int)DataType.Float };
        t.Dims.AddRange([1L << 20, 1L << 20, 1L << 20]);
        b.Graph.Initializer.Add(t);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Fails(b.Build(b.Node("Add", ["x", "huge"])));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64L << 20, "the importer allocated for the declared size");
        Assert.Contains("huge", e.Message);
    }

    [Fact]
    public void DeclaredShapeWithoutData_FailsBeforeAllocating()
    {
        var b = new OnnxModelBuilder(13, 1, [2, 4, 4]);
        var t = new TensorProto { Name = "empty", DataType = (int)DataType.Float };
        t.Dims.AddRange([1L << 13, 1L << 13]);                      // 64 Mi elements: within the limit, no values
        b.Graph.Initializer.Add(t);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Contains("holds 0 values", Fails(b.Build(b.Node("Add", ["x", "empty"]))).Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64L << 20, "the importer allocated for the declared size");
    }

    [Fact]
    public void HugeInputDimensions_AreRefused()
    {
        var b = new OnnxModelBuilder(13, 1, [100000, 100000, 100000]);
        Assert.Contains("exceeds the limit", Fails(b.Build(b.Node("Relu", ["x"]))).Message);
    }

    [Fact]
    public void HugePadding_IsRefusedAtImport()
    {
        var b = new OnnxModelBuilder(7, 1, [2, 4, 4]);
        var y = b.Node("Pad", ["x"], Ints("pads", 0, 0, 60000, 60000, 0, 0, 60000, 60000));
        Assert.Contains("more than", Fails(b.Build(y)).Message);
    }

    [Fact]
    public void RawDataShorterThanShape_IsRefused()
    {
        var b = new OnnxModelBuilder(13, 1, [2, 4, 4]);
        var w = b.Init([2, 1, 1], data: [1f, 2f]);
        b.Graph.Initializer[0].Dims[0] = 3;
        Assert.Contains("raw_data has 8 bytes", Fails(b.Build(b.Node("Add", ["x", w]))).Message);
    }

    [Fact]
    public void TotalConstantsLimit_IsEnforced()
    {
        var b = new OnnxModelBuilder(13, 1, [2, 4, 4]);
        var w = b.Init([2, 1, 1]);
        var v = b.Node("Add", [b.Node("Add", ["x", w]), b.Init([2, 4, 4])]);
        Assert.Contains("limit", Fails(b.Build(v), new OnnxImportOptions { MaxTensorElements = 32, MaxTotalElements = 33 }).Message);
    }

    [Theory]
    [InlineData(DataType.String)]
    [InlineData(DataType.Complex64)]
    public void UnsupportedTensorType_IsRefused(DataType type)
    {
        var b = new OnnxModelBuilder(13, 1, [2, 4, 4]);
        var w = b.Init([2, 1, 1]);
        b.Graph.Initializer[0].DataType = (int)type;
        Assert.Contains($"data type {type}", Fails(b.Build(b.Node("Add", ["x", w]))).Message);
    }

    [Fact]
    public void NonFloatInput_IsRefused()
    {
        var b = new OnnxModelBuilder(13, 1, [2, 4, 4]);
        b.Graph.Input[0] = Value("x", [1, 2, 4, 4], DataType.Int64);
        Assert.Contains("float32", Fails(b.Build(b.Node("Relu", ["x"]))).Message);
    }

    [Fact]
    public void WrongAttributeType_IsRefused()
    {
        var b = new OnnxModelBuilder(13, 1, [2, 4, 4]);
        var y = b.Node("Conv", ["x", b.Init([2, 2, 3, 3])], Str("group", "two"));
        Assert.Contains("'group'", Fails(b.Build(y)).Message);
    }

    [Fact]
    public void ConvWeightFromTheData_IsRefused()
    {
        var b = new OnnxModelBuilder(13, 1, [2, 4, 4]);
        Assert.Contains("must be a constant", Fails(b.Build(b.Node("Conv", ["x", "x"]))).Message);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F })]
    [InlineData(new byte[] { 0x3A, 0x80, 0x80, 0x80, 0x80, 0x08 })]
    [InlineData(new byte[] { 0x08 })]
    public void GarbageBytes_GiveOneLine(byte[] bytes) => Fails(bytes);

    [Fact]
    public void TruncatedRealModel_GivesOneLine()
    {
        var b = new OnnxModelBuilder(13, 1, [2, 4, 4]);
        var bytes = b.Build(b.Node("Conv", ["x", b.Init([2, 2, 3, 3])])).ToByteArray();
        for (int cut = 1; cut < bytes.Length; cut += 7) Fails(bytes[..cut]);
    }

    [Fact]
    public void TwoDataInputs_AreRefused()
    {
        var b = new OnnxModelBuilder(13, 1, [2, 4, 4]);
        b.Graph.Input.Add(Value("y", [1, 2, 4, 4]));
        Assert.Contains("2 data inputs", Fails(b.Build(b.Node("Add", ["x", "y"]))).Message);
    }

    [Fact]
    public void MissingFile_IsFileNotFound()
        => Assert.Throws<FileNotFoundException>(() => OnnxImporter.Import("/nonexistent/model.onnx"));
}

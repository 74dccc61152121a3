using System.Runtime.InteropServices;
using DeepShrink.Core;
using Google.Protobuf;
using Onnx;
using AttrType = Onnx.AttributeProto.Types.AttributeType;
using DataType = Onnx.TensorProto.Types.DataType;

namespace DeepShrink.Onnx.Tests;

/// <summary>Builds small ONNX models with the OnnxSharp protobuf classes for the importer tests.</summary>
internal sealed class OnnxModelBuilder
{
    private readonly GraphProto _g = new() { Name = "test" };
    private readonly Rng _rng;
    private int _counter;

    /// <summary>A model with one float input "x" of shape [batch, sample...] (batch null = symbolic).</summary>
    public OnnxModelBuilder(int opset, long? batch, int[] sample, ulong seed = 7)
    {
        Opset = opset;
        _rng = new Rng(seed);
        SampleShape = sample;
        _g.Input.Add(Value("x", [batch, .. sample.Select(d => (long?)d)]));
    }

    public int Opset { get; }
    public int[] SampleShape { get; }
    public GraphProto Graph => _g;

    public static ValueInfoProto Value(string name, IEnumerable<long?> dims, DataType type = DataType.Float)
    {
        var t = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = new TensorShapeProto() };
        foreach (var d in dims)
            t.Shape.Dim.Add(d is long v ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = "N" });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = t } };
    }

    /// <summary>A float initializer with seeded values (uniform in [lo, hi]) or the given data.</summary>
    public string Init(int[] shape, float lo = -1, float hi = 1, float[]? data = null, string? name = null)
    {
        name ??= $"w{_counter++}";
        data ??= Enumerable.Range(0, ShapeUtil.Numel(shape)).Select(_ => lo + (hi - lo) * _rng.NextFloat()).ToArray();
        _g.Initializer.Add(FloatTensor(name, shape, data));
        return name;
    }

    public string IntInit(params long[] data)
    {
        string name = $"i{_counter++}";
        var t = new TensorProto { Name = name, DataType = (int)DataType.Int64 };
        t.Dims.Add(data.Length);
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan()));
        _g.Initializer.Add(t);
        return name;
    }

    public static TensorProto FloatTensor(string name, int[] shape, float[] data)
    {
        var t = new TensorProto { Name = name, DataType = (int)DataType.Float };
        foreach (int d in shape) t.Dims.Add(d);
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan()));
        return t;
    }

    /// <summary>Adds a node and returns its (first) output name.</summary>
    public string Node(string op, string[] inputs, params AttributeProto[] attrs) => NodeMulti(op, inputs, 1, attrs)[0];

    public string[] NodeMulti(string op, string[] inputs, int outputs, params AttributeProto[] attrs)
    {
        var n = new NodeProto { OpType = op, Name = $"{op.ToLowerInvariant()}/{_counter}" };
        n.Input.AddRange(inputs);
        var outs = Enumerable.Range(0, outputs).Select(i => $"{op}_{_counter}_{i}").ToArray();
        _counter++;
        n.Output.AddRange(outs);
        n.Attribute.AddRange(attrs);
        _g.Node.Add(n);
        return outs;
    }

    public static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttrType.Int, I = v };
    public static AttributeProto Float(string name, float v) => new() { Name = name, Type = AttrType.Float, F = v };
    public static AttributeProto Str(string name, string v) => new() { Name = name, Type = AttrType.String, S = ByteString.CopyFromUtf8(v) };
    public static AttributeProto Tensor(string name, TensorProto t) => new() { Name = name, Type = AttrType.Tensor, T = t };

    public static AttributeProto Ints(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttrType.Ints };
        a.Ints.AddRange(v);
        return a;
    }

    /// <summary>Finishes with <paramref name="output"/> as the graph output.</summary>
    public ModelProto Build(string output)
    {
        _g.Output.Clear();
        _g.Output.Add(new ValueInfoProto { Name = output, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float } } });
        var m = new ModelProto { IrVersion = Opset >= 21 ? 10 : Opset >= 15 ? 8 : 7, ProducerName = "deepshrink-tests", Graph = _g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return m;
    }
}

using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace DeepShrink.Onnx;

/// <summary>Small constructors for the ONNX protobuf messages the exporter writes.</summary>
internal static class OnnxProto
{
    public static NodeProto Node(string op, string name, IEnumerable<string> inputs, string output, params AttributeProto[] attrs)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        n.Output.Add(output);
        n.Attribute.AddRange(attrs);
        return n;
    }

    public static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };

    public static AttributeProto Float(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };

    public static AttributeProto Ints(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(v);
        return a;
    }

    /// <summary>A float32 initializer with raw little-endian data.</summary>
    public static TensorProto FloatTensor(string name, ReadOnlySpan<int> shape, ReadOnlySpan<float> data)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        foreach (int d in shape) t.Dims.Add(d);
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data));
        return t;
    }

    /// <summary>An 8-bit initializer (int8 or uint8 codes) with raw data.</summary>
    public static TensorProto ByteTensor(string name, TensorProto.Types.DataType type, ReadOnlySpan<int> shape, ReadOnlySpan<byte> data)
    {
        var t = new TensorProto { Name = name, DataType = (int)type };
        foreach (int d in shape) t.Dims.Add(d);
        t.RawData = ByteString.CopyFrom(data);
        return t;
    }

    /// <summary>An int64 initializer (shapes for Reshape).</summary>
    public static TensorProto Int64Tensor(string name, params long[] data)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(data.Length);
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan()));
        return t;
    }

    /// <summary>A float tensor value; a null dimension is symbolic (the batch axis).</summary>
    public static ValueInfoProto FloatValue(string name, IEnumerable<(long? Value, string? Param)>? dims)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float };
        if (dims is not null)
        {
            tensor.Shape = new TensorShapeProto();
            foreach (var (value, param) in dims)
                tensor.Shape.Dim.Add(value is long v ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = param });
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}

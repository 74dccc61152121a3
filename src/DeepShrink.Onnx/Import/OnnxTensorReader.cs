using System.Buffers.Binary;
using DeepShrink.Core;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace DeepShrink.Onnx.Import;

/// <summary>
/// Reads <see cref="TensorProto"/> values defensively: the declared shape is checked against the
/// element limits before anything is allocated, and <c>raw_data</c> or the typed field must hold
/// exactly the declared number of elements.
/// </summary>
internal sealed class OnnxTensorReader(OnnxImportOptions options)
{
    private long _total;

    /// <summary>Elements read so far.</summary>
    public long TotalElements => _total;

    /// <summary>Checks dims against the limits and returns the shape as ints.</summary>
    public int[] CheckShape(IReadOnlyList<long> dims, string what)
    {
        if (dims.Count > 8) throw new OnnxImportException($"{what}: rank {dims.Count} is more than 8");
        var shape = new int[dims.Count];
        long n = 1;
        for (int i = 0; i < dims.Count; i++)
        {
            if (dims[i] < 0 || dims[i] > options.MaxTensorElements)
                throw new OnnxImportException($"{what}: dimension {dims[i]} outside 0..{options.MaxTensorElements}");
            shape[i] = (int)dims[i];
            n *= dims[i];
            if (n > options.MaxTensorElements)
                throw new OnnxImportException($"{what}: shape [{string.Join(", ", dims)}] exceeds the limit of {options.MaxTensorElements} elements");
        }
        return shape;
    }

    /// <summary>Reads a tensor into an <see cref="OnnxConst"/>.</summary>
    public OnnxConst Read(TensorProto t, string what)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0)
            throw new OnnxImportException($"{what}: external tensor data is not supported (save the model with its weights inside the .onnx file)");
        if (t.Segment is not null) throw new OnnxImportException($"{what}: segmented tensors are not supported");
        var shape = CheckShape(t.Dims, what);
        int n = ShapeUtil.Numel(shape);
        _total += n;
        if (_total > options.MaxTotalElements)
            throw new OnnxImportException($"{what}: the model's constants exceed the limit of {options.MaxTotalElements} elements");
        var type = (DataType)t.DataType;
        int size = type switch
        {
            DataType.Float or DataType.Int32 => 4, DataType.Int64 or DataType.Double => 8, DataType.Float16 => 2,
            DataType.Int8 or DataType.Uint8 or DataType.Bool => 1,
            _ => throw new OnnxImportException($"{what}: data type {type} is not supported (float, float16, double, int8/32/64, uint8, bool)"),
        };
        bool integer = type is not (DataType.Float or DataType.Double or DataType.Float16);
        if (!t.RawData.IsEmpty)
        {
            if (t.RawData.Length != (long)n * size)
                throw new OnnxImportException($"{what}: raw_data has {t.RawData.Length} bytes, shape {ShapeUtil.Format(shape)} of {type} needs {(long)n * size}");
        }
        else
        {
            int have = type switch
            {
                DataType.Float => t.FloatData.Count, DataType.Double => t.DoubleData.Count, DataType.Int64 => t.Int64Data.Count, _ => t.Int32Data.Count,
            };
            Count(have, n, what);   // checked before the values are allocated
        }
        var data = new double[n];
        if (!t.RawData.IsEmpty)
        {
            var raw = t.RawData.Span;
            for (int i = 0; i < n; i++)
            {
                var b = raw.Slice(i * size, size);
                data[i] = type switch
                {
                    DataType.Float => BinaryPrimitives.ReadSingleLittleEndian(b),
                    DataType.Double => BinaryPrimitives.ReadDoubleLittleEndian(b),
                    DataType.Float16 => (double)BinaryPrimitives.ReadHalfLittleEndian(b),
                    DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(b),
                    DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(b),
                    DataType.Int8 => (sbyte)b[0],
                    _ => b[0],
                };
            }
            return new OnnxConst(shape, data, integer);
        }
        switch (type)
        {
            case DataType.Float: Fill(t.FloatData, data, what); break;
            case DataType.Double: Fill(t.DoubleData, data, what); break;
            case DataType.Int64: Fill(t.Int64Data, data, what); break;
            case DataType.Float16:
                for (int i = 0; i < n; i++) data[i] = (double)BitConverter.UInt16BitsToHalf((ushort)t.Int32Data[i]);
                break;
            default: Fill(t.Int32Data, data, what); break;
        }
        return new OnnxConst(shape, data, integer);
    }

    private static void Fill<T>(IReadOnlyList<T> src, double[] dst, string what) where T : struct, IConvertible
    {
        Count(src.Count, dst.Length, what);
        for (int i = 0; i < dst.Length; i++) dst[i] = src[i].ToDouble(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Count(int have, int need, string what)
    {
        if (have != need) throw new OnnxImportException($"{what}: holds {have} values, its shape needs {need}");
    }
}

using System.Buffers.Binary;
using System.Runtime.InteropServices;
using DeepShrink.Core;

namespace DeepShrink.Format;

/// <summary>
/// One tensor of a safetensors file: element type, shape and the raw little-endian bytes.
/// </summary>
/// <remarks>
/// The bytes are kept as they are in the file (no conversion on read), so a read-then-write round
/// trip is bit-exact for every dtype, NaN payloads included. Conversions to float or integers are
/// explicit (<see cref="ToFloatArray"/>, <see cref="ToInt64Array"/>, ...).
/// </remarks>
public sealed class SafetensorsTensor
{
    /// <summary>Element type.</summary>
    public SafetensorsDType DType { get; }
    /// <summary>Dimensions, outermost first ([] for a scalar).</summary>
    public IReadOnlyList<int> Shape => _shape;
    /// <summary>Raw little-endian element bytes (row-major).</summary>
    public ReadOnlyMemory<byte> Data { get; }
    /// <summary>Number of elements (product of the shape; 1 for a scalar).</summary>
    public long ElementCount { get; }

    private readonly int[] _shape;

    /// <summary>Wraps raw bytes; the length must equal element count times element size.</summary>
    /// <exception cref="ArgumentException">Negative dimensions or a byte count that does not match the shape.</exception>
    public SafetensorsTensor(SafetensorsDType dtype, ReadOnlySpan<int> shape, ReadOnlyMemory<byte> data)
    {
        int esize = dtype.ElementSize();
        long n = CheckedElementCount(shape) ?? throw new ArgumentException($"invalid shape {ShapeUtil.Format(shape)} (negative or too many elements)", nameof(shape));
        if (n * esize != data.Length)
            throw new ArgumentException($"{dtype} tensor of shape {ShapeUtil.Format(shape)} needs {n * esize} bytes, got {data.Length}", nameof(data));
        DType = dtype; _shape = shape.ToArray(); Data = data; ElementCount = n;
    }

    /// <summary>Product of the dimensions, or null when a dimension is negative or the byte size
    /// could not fit in one .NET array.</summary>
    internal static long? CheckedElementCount(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) return null;
            n *= d;
            if (n > Array.MaxLength) return null;
        }
        return n;
    }

    /// <summary>The shape as a fresh array.</summary>
    public int[] ShapeArray() => (int[])_shape.Clone();

    // ---------- creation ----------

    /// <summary>An F32 tensor with a copy of <paramref name="t"/>'s values (any layout).</summary>
    public static SafetensorsTensor FromTensor(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        return FromFloats(t.IsContiguous ? t.Span : t.ToArray(), t.Shape);
    }

    /// <summary>An F32 tensor with a copy of <paramref name="values"/>.</summary>
    public static SafetensorsTensor FromFloats(ReadOnlySpan<float> values, ReadOnlySpan<int> shape)
    {
        var bytes = new byte[checked(values.Length * sizeof(float))];
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(values).CopyTo(bytes);
        else for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return new SafetensorsTensor(SafetensorsDType.F32, shape, bytes);
    }

    /// <summary>An I32 tensor with a copy of <paramref name="values"/>.</summary>
    public static SafetensorsTensor FromInt32(ReadOnlySpan<int> values, ReadOnlySpan<int> shape)
    {
        var bytes = new byte[checked(values.Length * sizeof(int))];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * i), values[i]);
        return new SafetensorsTensor(SafetensorsDType.I32, shape, bytes);
    }

    /// <summary>An I8 tensor with a copy of <paramref name="values"/>.</summary>
    public static SafetensorsTensor FromSBytes(ReadOnlySpan<sbyte> values, ReadOnlySpan<int> shape) =>
        new(SafetensorsDType.I8, shape, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>A U8 tensor with a copy of <paramref name="values"/>.</summary>
    public static SafetensorsTensor FromBytes(ReadOnlySpan<byte> values, ReadOnlySpan<int> shape) =>
        new(SafetensorsDType.U8, shape, values.ToArray());

    // ---------- conversion ----------

    /// <summary>The values converted to float32 (every dtype; 64-bit integers and F64 round to nearest).</summary>
    public float[] ToFloatArray()
    {
        var src = Data.Span;
        var dst = new float[ElementCount];
        switch (DType)
        {
            case SafetensorsDType.F32:
                if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, float>(src).CopyTo(dst);
                else for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]);
                break;
            case SafetensorsDType.F16:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(src[(2 * i)..]);
                break;
            case SafetensorsDType.BF16:
                for (int i = 0; i < dst.Length; i++)
                    dst[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]) << 16);
                break;
            case SafetensorsDType.F64:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(src[(8 * i)..]);
                break;
            case SafetensorsDType.U64:
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadUInt64LittleEndian(src[(8 * i)..]);
                break;
            default:
                var ints = ToInt64Array();
                for (int i = 0; i < dst.Length; i++) dst[i] = ints[i];
                break;
        }
        return dst;
    }

    /// <summary>The values as a float32 <see cref="Tensor"/> (see <see cref="ToFloatArray"/>).</summary>
    public Tensor ToTensor() => new(ToFloatArray(), _shape);

    /// <summary>The values of an integer or BOOL tensor widened to 64 bits.</summary>
    /// <exception cref="SafetensorsException">The dtype is floating point, or a U64 value exceeds <see cref="long.MaxValue"/>.</exception>
    public long[] ToInt64Array()
    {
        var src = Data.Span;
        var dst = new long[ElementCount];
        for (int i = 0; i < dst.Length; i++)
        {
            dst[i] = DType switch
            {
                SafetensorsDType.I8 => (sbyte)src[i],
                SafetensorsDType.U8 or SafetensorsDType.BOOL => src[i],
                SafetensorsDType.I16 => BinaryPrimitives.ReadInt16LittleEndian(src[(2 * i)..]),
                SafetensorsDType.U16 => BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]),
                SafetensorsDType.I32 => BinaryPrimitives.ReadInt32LittleEndian(src[(4 * i)..]),
                SafetensorsDType.U32 => BinaryPrimitives.ReadUInt32LittleEndian(src[(4 * i)..]),
                SafetensorsDType.I64 => BinaryPrimitives.ReadInt64LittleEndian(src[(8 * i)..]),
                SafetensorsDType.U64 => BinaryPrimitives.ReadUInt64LittleEndian(src[(8 * i)..]) is var u && u <= long.MaxValue
                    ? (long)u : throw new SafetensorsException($"U64 value {u} does not fit in a signed 64-bit integer"),
                _ => throw new SafetensorsException($"cannot read a {DType} tensor as integers"),
            };
        }
        return dst;
    }

    /// <summary>The values of an integer or BOOL tensor as 32-bit integers.</summary>
    /// <exception cref="SafetensorsException">The dtype is floating point, or a value does not fit in an <see cref="int"/>.</exception>
    public int[] ToInt32Array()
    {
        var wide = ToInt64Array();
        var dst = new int[wide.Length];
        for (int i = 0; i < wide.Length; i++)
        {
            if (wide[i] is < int.MinValue or > int.MaxValue)
                throw new SafetensorsException($"{DType} value {wide[i]} at index {i} does not fit in a 32-bit integer");
            dst[i] = (int)wide[i];
        }
        return dst;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{DType}{ShapeUtil.Format(_shape)}";
}

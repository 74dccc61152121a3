using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace DeepShrink.Format.Codecs;

/// <summary>Little-endian float32 / float16 array conversions (bit-exact, including NaN payloads for f32).</summary>
internal static class RawIO
{
    public static byte[] FloatsToBytes(ReadOnlySpan<float> values)
    {
        var bytes = new byte[(long)values.Length * 4];
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(values).CopyTo(bytes);
        else for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }

    public static float[] BytesToFloats(ReadOnlySpan<byte> bytes)
    {
        var values = new float[bytes.Length / 4];
        if (BitConverter.IsLittleEndian) bytes[..(values.Length * 4)].CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        else for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(4 * i));
        return values;
    }

    /// <summary>float32 to IEEE binary16 with round-to-nearest-even (overflow to infinity).</summary>
    public static byte[] FloatsToHalfBytes(ReadOnlySpan<float> values)
    {
        var halves = new Half[values.Length];
        TensorPrimitives.ConvertToHalf(values, halves);
        var bytes = new byte[(long)values.Length * 2];
        for (int i = 0; i < halves.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), halves[i]);
        return bytes;
    }

    /// <summary>binary16 to float32 (exact: every half is representable as a float).</summary>
    public static float[] HalfBytesToFloats(ReadOnlySpan<byte> bytes)
    {
        var halves = new Half[bytes.Length / 2];
        for (int i = 0; i < halves.Length; i++) halves[i] = BinaryPrimitives.ReadHalfLittleEndian(bytes.Slice(2 * i));
        var values = new float[halves.Length];
        TensorPrimitives.ConvertToSingle(halves, values);
        return values;
    }
}

using System.Buffers.Binary;
using System.Numerics;

namespace DeepShrink.Format;

/// <summary>CRC-32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78), as used by iSCSI and ext4.</summary>
/// <remarks>
/// Computed with <see cref="BitOperations.Crc32C(uint, ulong)"/>, which uses the SSE4.2 / ARMv8 CRC
/// instructions where available. Initial value and final XOR are 0xFFFFFFFF, so
/// <c>Compute("123456789") == 0xE3069283</c> (the standard check value).
/// </remarks>
public static class DszChecksum
{
    /// <summary>CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Start, data));

    /// <summary>Initial running state.</summary>
    public const uint Start = 0xFFFFFFFFu;

    /// <summary>Feeds <paramref name="data"/> into a running state.</summary>
    public static uint Append(uint state, ReadOnlySpan<byte> data)
    {
        int i = 0;
        for (; i + 8 <= data.Length; i += 8) state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(i)));
        for (; i < data.Length; i++) state = BitOperations.Crc32C(state, data[i]);
        return state;
    }

    /// <summary>Final value of a running state.</summary>
    public static uint Finish(uint state) => ~state;
}

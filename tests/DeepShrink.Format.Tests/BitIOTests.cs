using DeepShrink.Core;

namespace DeepShrink.Format.Tests;

public class BitIOTests
{
    [Fact]
    public void RandomFieldsRoundTrip()
    {
        var rng = new Rng(101);
        var fields = new List<(uint Value, int Bits)>();
        var w = new BitWriter(4);
        for (int i = 0; i < 5000; i++)
        {
            int bits = rng.NextInt(33);
            uint v = (uint)rng.NextUInt64() & (bits == 32 ? uint.MaxValue : (1u << bits) - 1);
            fields.Add((v, bits));
            w.WriteBits(v, bits);
        }
        long total = fields.Sum(f => (long)f.Bits);
        Assert.Equal(total, w.BitLength);
        var bytes = w.ToArray();
        Assert.Equal((total + 7) / 8, bytes.Length);
        var r = new BitReader(bytes);
        foreach (var (v, bits) in fields) Assert.Equal(v, r.ReadBits(bits));
        r.ExpectEnd("test");
    }

    [Fact]
    public void LsbFirstLayout()
    {
        var w = new BitWriter();
        w.WriteBits(0b101, 3);
        w.WriteBits(0b11111, 5);
        w.WriteBits(1, 1);
        Assert.Equal(new byte[] { 0b1111_1101, 0b0000_0001 }, w.ToArray());
    }

    [Fact]
    public void WriterMasksHighBits()
    {
        var w = new BitWriter();
        w.WriteBits(0xFFFF_FFFF, 4);
        Assert.Equal(new byte[] { 0x0F }, w.ToArray());
    }

    [Fact]
    public void ReadingPastEndThrowsFormatException()
    {
        var r = new BitReader(new byte[] { 0xAB });
        Assert.Equal(0xBu, r.ReadBits(4));
        Assert.Throws<DszFormatException>(() => r.ReadBits(5));
        Assert.Throws<DszFormatException>(() => r.Skip(5));
        Assert.Equal(0xAu, r.ReadBits(4));
        Assert.Throws<DszFormatException>(() => r.ReadBit());
        Assert.Equal(0ul, r.PeekBits(16)); // past the end reads zeros without consuming
    }

    [Fact]
    public void ExpectEndRejectsTrailingBytesAndDirtyPadding()
    {
        var r = new BitReader(new byte[] { 0x01, 0x00 });
        r.ReadBits(1);
        Assert.Throws<DszFormatException>(() => r.ExpectEnd("x"));
        var dirty = new BitReader(new byte[] { 0x81 });
        dirty.ReadBits(1);
        Assert.Throws<DszFormatException>(() => dirty.ExpectEnd("x"));
    }

    [Fact]
    public void Crc32cMatchesStandardCheckValue()
    {
        Assert.Equal(0xE3069283u, DszChecksum.Compute("123456789"u8));
        Assert.Equal(0u, DszChecksum.Compute([]));
        // Incremental equals one-shot at every split point (covers the 8-byte and byte loops).
        byte[] data = new byte[37];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 37 + 11);
        uint whole = DszChecksum.Compute(data);
        for (int split = 0; split <= data.Length; split++)
            Assert.Equal(whole, DszChecksum.Finish(DszChecksum.Append(DszChecksum.Append(DszChecksum.Start, data.AsSpan(0, split)), data.AsSpan(split))));
    }
}

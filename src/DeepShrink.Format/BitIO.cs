namespace DeepShrink.Format;

/// <summary>
/// Appends bit fields to a growable byte buffer, least significant bit first
/// (bit <c>i</c> of the stream is bit <c>i % 8</c> of byte <c>i / 8</c>).
/// </summary>
/// <remarks>
/// A field of <c>count</c> bits is written low bit first, so <see cref="BitReader.ReadBits"/> with the
/// same count returns the same value. The final partial byte is padded with zero bits.
/// </remarks>
public sealed class BitWriter
{
    private byte[] _buffer;
    private int _length;      // whole bytes written
    private ulong _acc;       // pending bits, low bits first
    private int _accBits;     // number of pending bits (< 8 between calls)

    /// <summary>Creates a writer with an initial capacity in bytes.</summary>
    public BitWriter(int initialCapacity = 256) => _buffer = new byte[Math.Max(initialCapacity, 16)];

    /// <summary>Number of bits written so far.</summary>
    public long BitLength => (long)_length * 8 + _accBits;

    /// <summary>Writes the low <paramref name="count"/> bits of <paramref name="value"/> (0 to 32 bits).</summary>
    public void WriteBits(uint value, int count)
    {
        if ((uint)count > 32) throw new ArgumentOutOfRangeException(nameof(count), "a field has 0 to 32 bits");
        if (count == 0) return;
        ulong masked = count == 32 ? value : value & ((1u << count) - 1);
        _acc |= masked << _accBits;
        _accBits += count;
        while (_accBits >= 8)
        {
            if (_length == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
            _buffer[_length++] = (byte)_acc;
            _acc >>= 8;
            _accBits -= 8;
        }
    }

    /// <summary>Writes one bit.</summary>
    public void WriteBit(bool bit) => WriteBits(bit ? 1u : 0u, 1);

    /// <summary>Pads with zero bits to a byte boundary and returns the bytes written (a copy).</summary>
    public byte[] ToArray()
    {
        int total = _length + (_accBits > 0 ? 1 : 0);
        var result = new byte[total];
        _buffer.AsSpan(0, _length).CopyTo(result);
        if (_accBits > 0) result[_length] = (byte)_acc;
        return result;
    }
}

/// <summary>
/// Reads bit fields written by <see cref="BitWriter"/>. Reading past the end throws
/// <see cref="DszFormatException"/> (a truncated or corrupt stream), never an index error.
/// </summary>
public sealed class BitReader
{
    private readonly ReadOnlyMemory<byte> _data;
    private readonly long _totalBits;
    private long _pos;

    /// <summary>Reads from <paramref name="data"/>, starting at bit 0.</summary>
    public BitReader(ReadOnlyMemory<byte> data)
    {
        _data = data;
        _totalBits = (long)data.Length * 8;
    }

    /// <summary>Current position in bits.</summary>
    public long Position => _pos;

    /// <summary>Bits left before the end of the data.</summary>
    public long RemainingBits => _totalBits - _pos;

    /// <summary>Reads a field of <paramref name="count"/> bits (0 to 32).</summary>
    public uint ReadBits(int count)
    {
        if ((uint)count > 32) throw new ArgumentOutOfRangeException(nameof(count), "a field has 0 to 32 bits");
        if (count > RemainingBits) throw new DszFormatException($"bit stream ended early: needed {count} bits at bit {_pos} of {_totalBits}");
        uint v = (uint)PeekBits(count);
        _pos += count;
        return v;
    }

    /// <summary>Reads one bit.</summary>
    public bool ReadBit() => ReadBits(1) != 0;

    /// <summary>
    /// Returns the next <paramref name="count"/> bits (0 to 32) without consuming them; bits past the
    /// end of the data read as zero.
    /// </summary>
    public ulong PeekBits(int count)
    {
        if ((uint)count > 32) throw new ArgumentOutOfRangeException(nameof(count), "a field has 0 to 32 bits");
        if (count == 0) return 0;
        ReadOnlySpan<byte> span = _data.Span;
        long byteIndex = _pos >> 3;
        int shift = (int)(_pos & 7);
        ulong acc = 0;
        if (byteIndex + 8 <= span.Length)
        {
            acc = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(span.Slice((int)byteIndex));
        }
        else
        {
            // Near the end: up to 5 bytes cover shift (< 8) + 32 bits; missing bytes read as zero.
            for (int i = 0; i < 5; i++)
            {
                long b = byteIndex + i;
                if (b >= span.Length) break;
                acc |= (ulong)span[(int)b] << (8 * i);
            }
        }
        acc >>= shift;
        return acc & ((1UL << count) - 1);
    }

    /// <summary>Advances by <paramref name="count"/> bits, throwing if that passes the end.</summary>
    public void Skip(int count)
    {
        if (count < 0 || count > RemainingBits) throw new DszFormatException($"bit stream ended early: cannot skip {count} bits at bit {_pos} of {_totalBits}");
        _pos += count;
    }

    /// <summary>
    /// Checks that the stream is fully consumed: fewer than 8 bits remain and those are zero
    /// (the writer's padding). Extra bytes or non-zero padding mean a corrupt or mislabelled stream.
    /// </summary>
    public void ExpectEnd(string what)
    {
        long rem = RemainingBits;
        if (rem >= 8) throw new DszFormatException($"{what}: {rem / 8} unexpected trailing bytes");
        if (rem > 0 && PeekBits((int)rem) != 0) throw new DszFormatException($"{what}: non-zero padding bits");
    }
}

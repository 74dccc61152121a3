namespace DeepShrink.Format;

/// <summary>
/// A canonical Huffman code over the alphabet <c>0 .. AlphabetSize-1</c>, defined by its code lengths
/// alone, with bit-stream encoding, table-driven decoding and a compact serialised table.
/// </summary>
/// <remarks>
/// Canonical codes (as in DEFLATE, RFC 1951 sec. 3.2.2): symbols sorted by (length, symbol) receive
/// consecutive code values, and the first code of length <c>l</c> is
/// <c>(first[l-1] + count[l-1]) &lt;&lt; 1</c>. Hence only the lengths need to be stored. Code bits
/// go to the stream most significant first, so a decoder can extend a prefix one bit at a time.
/// Entropy coding of the quantised weight indices and the sparse-index gaps is the third stage of
/// Deep Compression (Han, Mao, Dally, ICLR 2016, sec. 4).
/// Valid tables are complete prefix codes (Kraft sum exactly 1) or a single symbol of length 1.
/// </remarks>
public sealed class HuffmanCode
{
    private const int LookupBits = 10;
    private const int RunEscape = 31;

    private readonly byte[] _lengths;      // per symbol; 0 = not in the code
    private readonly uint[] _codes;        // per symbol, canonical value (MSB-first)
    private readonly int[] _firstCode;     // per length
    private readonly int[] _count;         // per length
    private readonly int[] _firstIndex;    // per length, into _sorted
    private readonly int[] _sorted;        // symbols by (length, symbol)
    private readonly int[] _lookup;        // [2^tableBits] -> symbol << 8 | length, 0 = slow path
    private readonly int _tableBits;

    /// <summary>Number of symbols in the alphabet (used or not).</summary>
    public int AlphabetSize => _lengths.Length;

    /// <summary>Longest code length in use (0 for an empty code).</summary>
    public int MaxLength { get; }

    /// <summary>Number of symbols that have a code.</summary>
    public int UsedSymbols => _sorted.Length;

    /// <summary>Code length of each symbol (0 = symbol not coded).</summary>
    public ReadOnlySpan<byte> Lengths => _lengths;

    private HuffmanCode(byte[] lengths)
    {
        _lengths = lengths;
        _codes = new uint[lengths.Length];
        int maxLen = 0;
        foreach (byte l in lengths) maxLen = Math.Max(maxLen, l);
        MaxLength = maxLen;
        _count = new int[maxLen + 2];
        foreach (byte l in lengths) if (l > 0) _count[l]++;
        _firstCode = new int[maxLen + 2];
        _firstIndex = new int[maxLen + 2];
        int code = 0, index = 0; // _count[0] is 0, so the first code of length 1 is 0
        for (int l = 1; l <= maxLen; l++)
        {
            code = (code + _count[l - 1]) << 1;
            _firstCode[l] = code;
            _firstIndex[l] = index;
            index += _count[l];
        }
        _sorted = new int[index];
        var next = (int[])_firstIndex.Clone();
        for (int s = 0; s < lengths.Length; s++)
        {
            int l = lengths[s];
            if (l == 0) continue;
            int k = next[l]++;
            _sorted[k] = s;
            _codes[s] = (uint)(_firstCode[l] + (k - _firstIndex[l]));
        }
        _tableBits = Math.Min(maxLen, LookupBits);
        _lookup = new int[1 << _tableBits];
        for (int s = 0; s < lengths.Length; s++)
        {
            int l = lengths[s];
            if (l == 0 || l > _tableBits) continue;
            int rev = (int)Reverse(_codes[s], l);
            for (int idx = rev; idx < _lookup.Length; idx += 1 << l) _lookup[idx] = (s << 8) | l;
        }
    }

    /// <summary>
    /// Builds the optimal code of at most <paramref name="maxLength"/> bits for the given frequencies
    /// (see <see cref="HuffmanLengths.Compute"/>). The alphabet size is <c>frequencies.Length</c>.
    /// </summary>
    public static HuffmanCode Build(ReadOnlySpan<long> frequencies, int maxLength = HuffmanLengths.MaxSupportedLength)
    {
        if (frequencies.Length > DszLimits.MaxAlphabetSize)
            throw new ArgumentException($"alphabet of {frequencies.Length} symbols exceeds {DszLimits.MaxAlphabetSize}");
        return new HuffmanCode(HuffmanLengths.Compute(frequencies, maxLength));
    }

    /// <summary>Builds the optimal code for the symbol frequencies of <paramref name="symbols"/>.</summary>
    public static HuffmanCode Build(ReadOnlySpan<int> symbols, int alphabetSize, int maxLength = HuffmanLengths.MaxSupportedLength)
    {
        var freq = new long[alphabetSize];
        foreach (int s in symbols)
        {
            if ((uint)s >= (uint)alphabetSize) throw new ArgumentOutOfRangeException(nameof(symbols), $"symbol {s} outside 0..{alphabetSize - 1}");
            freq[s]++;
        }
        return Build(freq, maxLength);
    }

    /// <summary>
    /// Recreates a code from its lengths. Throws <see cref="DszFormatException"/> unless the lengths
    /// form a complete prefix code (or a single symbol of length 1, or no symbol at all).
    /// </summary>
    public static HuffmanCode FromLengths(ReadOnlySpan<byte> lengths)
    {
        if (lengths.Length > DszLimits.MaxAlphabetSize)
            throw new DszFormatException($"Huffman alphabet of {lengths.Length} symbols exceeds {DszLimits.MaxAlphabetSize}");
        long kraft = 0; // in units of 2^-MaxSupportedLength
        int used = 0;
        foreach (byte l in lengths)
        {
            if (l > HuffmanLengths.MaxSupportedLength) throw new DszFormatException($"Huffman code length {l} exceeds {HuffmanLengths.MaxSupportedLength}");
            if (l == 0) continue;
            used++;
            kraft += 1L << (HuffmanLengths.MaxSupportedLength - l);
        }
        long one = 1L << HuffmanLengths.MaxSupportedLength;
        bool single = used == 1 && kraft == one / 2;
        if (used > 0 && kraft != one && !single)
            throw new DszFormatException(kraft > one ? "Huffman code lengths are over-subscribed" : "Huffman code lengths are incomplete");
        return new HuffmanCode(lengths.ToArray());
    }

    /// <summary>Canonical code value of <paramref name="symbol"/> (its <see cref="Lengths"/> bits, MSB first).</summary>
    public uint CodeOf(int symbol) => _codes[symbol];

    /// <summary>Bits needed to encode a stream with the given symbol frequencies (excluding the table).</summary>
    public long EncodedBits(ReadOnlySpan<long> frequencies)
    {
        long bits = 0;
        for (int s = 0; s < frequencies.Length; s++)
        {
            if (frequencies[s] == 0) continue;
            if (s >= _lengths.Length || _lengths[s] == 0) throw new ArgumentException($"symbol {s} has no code");
            bits = checked(bits + frequencies[s] * _lengths[s]);
        }
        return bits;
    }

    /// <summary>Appends the code of every symbol to <paramref name="writer"/>.</summary>
    public void Encode(ReadOnlySpan<int> symbols, BitWriter writer)
    {
        foreach (int s in symbols) EncodeSymbol(s, writer);
    }

    /// <summary>Appends the code of one symbol (its bits most significant first).</summary>
    public void EncodeSymbol(int symbol, BitWriter writer)
    {
        int l = (uint)symbol < (uint)_lengths.Length ? _lengths[symbol] : 0;
        if (l == 0) throw new ArgumentException($"symbol {symbol} has no code");
        writer.WriteBits(Reverse(_codes[symbol], l), l);
    }

    /// <summary>
    /// Decodes <c>destination.Length</c> symbols. A stream that ends early or holds a bit pattern that
    /// is not a code throws <see cref="DszFormatException"/>.
    /// </summary>
    public void Decode(BitReader reader, Span<int> destination)
    {
        if (destination.Length > 0 && _sorted.Length == 0) throw new DszFormatException("Huffman table is empty but symbols are expected");
        for (int i = 0; i < destination.Length; i++) destination[i] = DecodeSymbol(reader);
    }

    /// <summary>Decodes one symbol.</summary>
    public int DecodeSymbol(BitReader reader)
    {
        if (_tableBits > 0)
        {
            int e = _lookup[(int)reader.PeekBits(_tableBits)];
            if (e != 0)
            {
                reader.Skip(e & 0xFF);
                return e >> 8;
            }
        }
        int code = 0;
        for (int l = 1; l <= MaxLength; l++)
        {
            code = (code << 1) | (reader.ReadBit() ? 1 : 0);
            int offset = code - _firstCode[l];
            if (offset >= 0 && offset < _count[l]) return _sorted[_firstIndex[l] + offset];
        }
        throw new DszFormatException("invalid Huffman code in bit stream");
    }

    /// <summary>
    /// Writes the code lengths: for each symbol a 5-bit field holding its length (0..24), or the
    /// escape 31 followed by <c>ceil(log2 AlphabetSize)</c> bits holding (run - 1) for a run of unused
    /// symbols. See docs/FORMAT-dsz.md.
    /// </summary>
    public void WriteTable(BitWriter writer)
    {
        int runBits = RunBits(_lengths.Length);
        int s = 0;
        while (s < _lengths.Length)
        {
            int run = 0;
            while (s + run < _lengths.Length && _lengths[s + run] == 0) run++;
            if (run > 0 && 5 + runBits < 5 * run)
            {
                writer.WriteBits(RunEscape, 5);
                writer.WriteBits((uint)(run - 1), runBits);
                s += run;
            }
            else
            {
                writer.WriteBits(_lengths[s], 5);
                s++;
            }
        }
    }

    /// <summary>Reads a table written by <see cref="WriteTable"/> for an alphabet of the given size.</summary>
    public static HuffmanCode ReadTable(BitReader reader, int alphabetSize)
    {
        if (alphabetSize < 1 || alphabetSize > DszLimits.MaxAlphabetSize)
            throw new DszFormatException($"Huffman alphabet size {alphabetSize} outside 1..{DszLimits.MaxAlphabetSize}");
        int runBits = RunBits(alphabetSize);
        var lengths = new byte[alphabetSize];
        int s = 0;
        while (s < alphabetSize)
        {
            uint v = reader.ReadBits(5);
            if (v == RunEscape)
            {
                int run = (int)reader.ReadBits(runBits) + 1;
                if (run > alphabetSize - s) throw new DszFormatException("Huffman table run passes the end of the alphabet");
                s += run;
            }
            else if (v > HuffmanLengths.MaxSupportedLength)
                throw new DszFormatException($"Huffman table holds invalid length field {v}");
            else lengths[s++] = (byte)v;
        }
        return FromLengths(lengths);
    }

    /// <summary>Bits <see cref="WriteTable"/> uses for this code.</summary>
    public long TableBits()
    {
        var w = new BitWriter(64);
        WriteTable(w);
        return w.BitLength;
    }

    private static int RunBits(int alphabetSize) => Math.Max(1, 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(alphabetSize - 1)));

    private static uint Reverse(uint code, int length)
    {
        uint r = 0;
        for (int i = 0; i < length; i++) { r = (r << 1) | (code & 1); code >>= 1; }
        return r;
    }
}

namespace DeepShrink.Format.Codecs;

/// <summary>
/// A stream of symbols in <c>0 .. 2^bits - 1</c>, stored either bit-packed with a fixed width
/// (LSB-first, <c>bits</c> bits per symbol) or as a canonical Huffman table followed by the codes.
/// </summary>
/// <remarks>
/// This is the entropy layer of Deep Compression (Han et al., ICLR 2016, sec. 4): the codebook-index
/// stream and the relative-index (gap) stream each get their own Huffman table.
/// Both layouts end with zero padding to a byte boundary and no further bytes.
/// </remarks>
internal static class SymbolStream
{
    /// <summary>Encodes symbols (each &lt; 2^bits) with a fixed width or Huffman.</summary>
    public static byte[] Write(ReadOnlySpan<ushort> symbols, int bits, bool huffman)
    {
        var w = new BitWriter(Math.Max(16, (int)Math.Min(int.MaxValue / 2, (long)symbols.Length * bits / 8 + 16)));
        if (!huffman)
        {
            foreach (ushort s in symbols) w.WriteBits(s, bits);
            return w.ToArray();
        }
        var freq = new long[1 << bits];
        foreach (ushort s in symbols) freq[s]++;
        var code = HuffmanCode.Build(freq);
        code.WriteTable(w);
        foreach (ushort s in symbols) code.EncodeSymbol(s, w);
        return w.ToArray();
    }

    /// <summary>
    /// Decodes exactly <paramref name="count"/> symbols. The size is checked against the data before
    /// anything is allocated; short, long or corrupt data throws <see cref="DszFormatException"/>.
    /// </summary>
    public static ushort[] Read(ReadOnlyMemory<byte> data, long count, int bits, bool huffman, string what)
    {
        if (!huffman)
        {
            long expected = (count * bits + 7) / 8;
            if (data.Length != expected) throw new DszFormatException($"{what}: {data.Length} bytes, expected {expected} for {count} symbols of {bits} bits");
        }
        else if (count > (long)data.Length * 8)
            throw new DszFormatException($"{what}: {data.Length} bytes cannot hold {count} Huffman-coded symbols");
        var r = new BitReader(data);
        var result = new ushort[count];
        if (!huffman)
        {
            for (long i = 0; i < count; i++) result[i] = (ushort)r.ReadBits(bits);
        }
        else
        {
            var code = HuffmanCode.ReadTable(r, 1 << bits);
            if (count > 0 && code.UsedSymbols == 0) throw new DszFormatException($"{what}: empty Huffman table for {count} symbols");
            for (long i = 0; i < count; i++) result[i] = (ushort)code.DecodeSymbol(r);
        }
        r.ExpectEnd(what);
        return result;
    }
}

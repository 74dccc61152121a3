namespace DeepShrink.Format.Codecs;

/// <summary>
/// Relative-index (gap) layout shared by the sparse codecs.
/// </summary>
/// <remarks>
/// Han, Mao, Dally, "Deep Compression", ICLR 2016, sec. 2 and fig. 2. Entries are visited in
/// row-major order of the flattened tensor; each stores <c>gap = pos - prev - 1</c> (the number of
/// zeros skipped, <c>prev = -1</c> before the first entry) in <c>gapBits</c> bits. When more than
/// <c>2^gapBits - 1</c> zeros separate two entries, a filler entry with value exactly +0.0 is placed
/// <c>2^gapBits</c> positions after the previous one. The same rule applies to the zeros after the
/// last entry (as if an entry sat at position <c>n</c>), so the decoded size is bounded by the stored
/// entries: <c>n &lt;= (entries + 1) 2^gapBits</c>. The layout is canonical: fillers appear only where
/// needed.
/// </remarks>
internal static class SparseLayout
{
    /// <summary>Gaps and, per entry, the index into <paramref name="positions"/> (-1 for fillers).</summary>
    /// <param name="positions">Strictly increasing flat positions of the stored values.</param>
    /// <param name="elementCount">Elements of the tensor.</param>
    /// <param name="gapBits">Relative-index width, 1..16.</param>
    public static (ushort[] Gaps, int[] Sources) Build(ReadOnlySpan<int> positions, long elementCount, int gapBits)
    {
        if (gapBits < 1 || gapBits > 16) throw new ArgumentOutOfRangeException(nameof(gapBits), "gap width must be 1..16 bits");
        long maxGap = (1L << gapBits) - 1;
        var gaps = new List<ushort>(positions.Length);
        var sources = new List<int>(positions.Length);
        long prev = -1;
        for (int e = 0; e <= positions.Length; e++)
        {
            long pos = e < positions.Length ? positions[e] : elementCount;
            while (pos - prev - 1 > maxGap)
            {
                prev += maxGap + 1;
                gaps.Add((ushort)maxGap);
                sources.Add(-1);
            }
            if (e == positions.Length) break;
            gaps.Add((ushort)(pos - prev - 1));
            sources.Add(e);
            prev = pos;
        }
        return (gaps.ToArray(), sources.ToArray());
    }

    /// <summary>Reads and validates the <c>gaps</c> part; returns the gap width, gaps and absolute positions.</summary>
    public static (int GapBits, ushort[] Gaps, int[] Positions) Read(EncodedTensor t, string huffmanKey)
    {
        int gapBits = CodecParams.GetInt(t, "gapBits", 1, 16);
        long entries = CodecParams.GetLong(t, "entries", 0, t.ElementCount);
        bool huffman = CodecParams.GetBool(t, huffmanKey);
        var gaps = SymbolStream.Read(t.Parts["gaps"], entries, gapBits, huffman, $"codec '{t.Codec}' gaps");
        var positions = new int[gaps.Length];
        long prev = -1;
        for (int e = 0; e < gaps.Length; e++)
        {
            prev += gaps[e] + 1L;
            if (prev >= t.ElementCount) throw new DszFormatException($"codec '{t.Codec}': entry {e} at position {prev} is past the {t.ElementCount} elements");
            positions[e] = (int)prev;
        }
        if (t.ElementCount - prev - 1 > (1L << gapBits) - 1)
            throw new DszFormatException($"codec '{t.Codec}': {t.ElementCount - prev - 1} trailing zeros exceed the gap width (missing fillers)");
        return (gapBits, gaps, positions);
    }

    /// <summary>Flat positions of the elements for which <paramref name="keep"/> is true.</summary>
    public static int[] Select(int count, Func<int, bool> keep)
    {
        var list = new List<int>();
        for (int i = 0; i < count; i++) if (keep(i)) list.Add(i);
        return list.ToArray();
    }
}

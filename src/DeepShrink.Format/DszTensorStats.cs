namespace DeepShrink.Format;

/// <summary>
/// Size statistics of one encoded tensor, enough to print the columns of Deep Compression's
/// Tables 2-3 (weights, % kept, weight bits after pruning+quantisation and after Huffman, index
/// bits, compression rate).
/// </summary>
/// <remarks>
/// Han, Mao, Dally, "Deep Compression", ICLR 2016, Tables 2-5. "Value" bits are the stored weights or
/// codebook indices; "index" bits are the sparse relative indices (gaps); "side" bits are everything
/// else the decoder needs (codebook centroids, scales, zero points). "Plain" counts assume fixed-width
/// fields; "coded" counts are what is actually stored (after Huffman, including its tables, rounded
/// up to whole bytes per stream). Compression rates compare with dense float32.
/// </remarks>
/// <param name="Codec">Codec name.</param>
/// <param name="Elements">Number of weights of the decoded tensor.</param>
/// <param name="Nonzeros">Nonzero weights of the decoded tensor (the element count for low-rank tensors, which are treated as dense).</param>
/// <param name="StoredEntries">Stored values: elements for dense codecs, entries including fillers for sparse codecs, factor elements for low rank.</param>
/// <param name="FillerEntries">Sparse filler entries (zero values that bridge gaps longer than the index width).</param>
/// <param name="ValueBitWidth">Bits of one stored value before entropy coding.</param>
/// <param name="ValueBitsPlain">Value-stream bits with fixed-width fields.</param>
/// <param name="ValueBitsCoded">Value-stream bits as stored.</param>
/// <param name="IndexBitWidth">Bits of one relative index before entropy coding (0 for dense codecs).</param>
/// <param name="IndexBitsPlain">Index-stream bits with fixed-width fields.</param>
/// <param name="IndexBitsCoded">Index-stream bits as stored.</param>
/// <param name="SideBits">Bits of codebooks, scales and zero points.</param>
/// <param name="PayloadBytes">Bytes of all parts as stored.</param>
public sealed record DszTensorStats(
    string Codec,
    long Elements,
    long Nonzeros,
    long StoredEntries,
    long FillerEntries,
    int ValueBitWidth,
    long ValueBitsPlain,
    long ValueBitsCoded,
    int IndexBitWidth,
    long IndexBitsPlain,
    long IndexBitsCoded,
    long SideBits,
    long PayloadBytes)
{
    /// <summary>Bytes of the same tensor as dense float32.</summary>
    public long DenseBytes => Elements * 4;

    /// <summary>Fraction of weights kept (nonzero), 0..1.</summary>
    public double KeptFraction => Elements == 0 ? 0 : (double)Nonzeros / Elements;

    /// <summary>Average stored bits per value after entropy coding.</summary>
    public double AvgValueBitsCoded => StoredEntries == 0 ? 0 : (double)ValueBitsCoded / StoredEntries;

    /// <summary>Average stored bits per relative index after entropy coding.</summary>
    public double AvgIndexBitsCoded => StoredEntries == 0 ? 0 : (double)IndexBitsCoded / StoredEntries;

    /// <summary>Total bits with fixed-width fields (pruning + quantisation, no Huffman).</summary>
    public long TotalBitsPlain => ValueBitsPlain + IndexBitsPlain + SideBits;

    /// <summary>Total bits as stored.</summary>
    public long TotalBitsCoded => ValueBitsCoded + IndexBitsCoded + SideBits;

    /// <summary>Dense float32 size over the fixed-width size ("P+Q" compression rate).</summary>
    public double CompressionRatePlain => Rate(DenseBytes * 8, TotalBitsPlain);

    /// <summary>Dense float32 size over the stored size ("P+Q+H" when Huffman is enabled).</summary>
    public double CompressionRateCoded => Rate(DenseBytes * 8, TotalBitsCoded);

    /// <summary>
    /// Column sums over several tensors (the "Total" row of Deep Compression's tables); widths are 0
    /// because they differ between tensors.
    /// </summary>
    public static DszTensorStats Total(IEnumerable<DszTensorStats> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        long e = 0, nz = 0, st = 0, fi = 0, vp = 0, vc = 0, ip = 0, ic = 0, side = 0, bytes = 0;
        foreach (var s in tensors)
        {
            e += s.Elements; nz += s.Nonzeros; st += s.StoredEntries; fi += s.FillerEntries;
            vp += s.ValueBitsPlain; vc += s.ValueBitsCoded; ip += s.IndexBitsPlain; ic += s.IndexBitsCoded;
            side += s.SideBits; bytes += s.PayloadBytes;
        }
        return new DszTensorStats("total", e, nz, st, fi, 0, vp, vc, 0, ip, ic, side, bytes);
    }

    private static double Rate(long dense, long stored) =>
        stored == 0 ? (dense == 0 ? 1 : double.PositiveInfinity) : (double)dense / stored;
}

using DeepShrink.Core;

namespace DeepShrink.Format.Tests;

public class HuffmanTests
{
    // ---------- references ----------

    /// <summary>Cost of an unrestricted optimal prefix code: sum of the merged weights (classic Huffman).</summary>
    private static long HuffmanCost(IEnumerable<long> freqs)
    {
        var pq = new PriorityQueue<long, long>();
        foreach (long f in freqs) if (f > 0) pq.Enqueue(f, f);
        if (pq.Count == 1) return pq.Dequeue(); // one symbol: one bit each
        long cost = 0;
        while (pq.Count > 1)
        {
            long a = pq.Dequeue(), b = pq.Dequeue();
            cost += a + b;
            pq.Enqueue(a + b, a + b);
        }
        return cost;
    }

    /// <summary>Minimum cost over every length vector in 1..L with Kraft sum at most 1 (brute force).</summary>
    private static long BruteForceLimitedCost(long[] freqs, int maxLength)
    {
        long best = long.MaxValue;
        var len = new int[freqs.Length];
        void Rec(int i, double kraft, long cost)
        {
            if (kraft > 1 + 1e-12 || cost >= best) return;
            if (i == freqs.Length) { best = cost; return; }
            for (int l = 1; l <= maxLength; l++) Rec(i + 1, kraft + Math.Pow(2, -l), cost + freqs[i] * l);
        }
        Rec(0, 0, 0);
        return best;
    }

    private static long Cost(ReadOnlySpan<byte> lengths, long[] freqs)
    {
        long c = 0;
        for (int i = 0; i < freqs.Length; i++) c += freqs[i] * lengths[i];
        return c;
    }

    private static void AssertValidComplete(HuffmanCode code)
    {
        double kraft = 0;
        foreach (byte l in code.Lengths) if (l > 0) kraft += Math.Pow(2, -l);
        if (code.UsedSymbols >= 2) Assert.Equal(1.0, kraft, 12);
        // Prefix-free: no code is a prefix of another.
        var codes = new List<(uint Code, int Len)>();
        for (int s = 0; s < code.AlphabetSize; s++) if (code.Lengths[s] > 0) codes.Add((code.CodeOf(s), code.Lengths[s]));
        if (codes.Count > 300) return;
        foreach (var a in codes)
            foreach (var b in codes)
                if (a != b && a.Len <= b.Len) Assert.NotEqual(a.Code, b.Code >> (b.Len - a.Len));
    }

    private static int[] RoundTrip(int[] symbols, int alphabet, int maxLength = 24)
    {
        var code = HuffmanCode.Build(symbols, alphabet, maxLength);
        var w = new BitWriter();
        code.WriteTable(w);
        code.Encode(symbols, w);
        var r = new BitReader(w.ToArray());
        var back = HuffmanCode.ReadTable(r, alphabet);
        Assert.Equal(code.Lengths.ToArray(), back.Lengths.ToArray());
        var decoded = new int[symbols.Length];
        back.Decode(r, decoded);
        r.ExpectEnd("huffman");
        Assert.Equal(symbols, decoded);
        return decoded;
    }

    // ---------- lengths ----------

    [Fact]
    public void UnlimitedLengthsMatchClassicHuffmanCost()
    {
        var rng = new Rng(7);
        for (int trial = 0; trial < 200; trial++)
        {
            int n = 1 + rng.NextInt(60);
            var f = new long[n];
            for (int i = 0; i < n; i++) f[i] = rng.NextInt(4) == 0 ? 0 : 1 + rng.NextInt(1000);
            var lengths = HuffmanLengths.Compute(f, 24);
            Assert.Equal(HuffmanCost(f), Cost(lengths, f));
        }
    }

    [Fact]
    public void LimitedLengthsAreOptimalAgainstBruteForce()
    {
        var rng = new Rng(11);
        for (int trial = 0; trial < 60; trial++)
        {
            int n = 2 + rng.NextInt(5);
            int maxLen = Math.Max(CeilLog2(n), 1 + rng.NextInt(4));
            var f = new long[n];
            for (int i = 0; i < n; i++) f[i] = 1 + (long)Math.Pow(3, rng.NextInt(8)) + rng.NextInt(5);
            var lengths = HuffmanLengths.Compute(f, maxLen);
            Assert.All(lengths, l => Assert.InRange(l, 1, maxLen));
            Assert.Equal(BruteForceLimitedCost(f, maxLen), Cost(lengths, f));
        }
    }

    private static int CeilLog2(int n) => n <= 1 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(n - 1));

    [Fact]
    public void FibonacciFrequenciesAreLengthLimited()
    {
        // Fibonacci weights make classic Huffman a chain of depth n-1 (here 59 > 24).
        var f = new long[60];
        f[0] = 1; f[1] = 1;
        for (int i = 2; i < f.Length; i++) f[i] = f[i - 1] + f[i - 2];
        var unlimitedDepth = HuffmanLengths.Compute(f.AsSpan(0, 20), 24).Max();
        Assert.Equal(19, unlimitedDepth); // 20 symbols, chain of depth 19 fits 24 bits
        foreach (int limit in new[] { 6, 10, 16, 24 })
        {
            var code = HuffmanCode.Build(f, limit);
            Assert.Equal(limit, code.MaxLength);
            AssertValidComplete(code);
        }
        // A stream drawn with these skewed frequencies (capped so the test stays small) round trips.
        var rng = new Rng(13);
        var symbols = new int[20000];
        for (int i = 0; i < symbols.Length; i++)
        {
            int s = 0;
            while (s < 59 && rng.NextInt(2) == 0) s++;
            symbols[i] = s;
        }
        symbols[^1] = 59; symbols[^2] = 58;
        RoundTrip(symbols, 64, 24);
        RoundTrip(symbols, 64, 7);
    }

    [Fact]
    public void TooManySymbolsForTheLimitThrows()
    {
        var f = Enumerable.Repeat(1L, 9).ToArray();
        Assert.Throws<ArgumentException>(() => HuffmanLengths.Compute(f, 3));
        Assert.All(HuffmanLengths.Compute(f.AsSpan(0, 8), 3), l => Assert.Equal(3, l));
    }

    // ---------- stream round trips ----------

    [Fact]
    public void EmptyStreamRoundTrips()
    {
        RoundTrip([], 16);
        var code = HuffmanCode.Build(new long[16]);
        Assert.Equal(0, code.UsedSymbols);
        Assert.Equal(0, code.MaxLength);
        Assert.Throws<DszFormatException>(() => code.Decode(new BitReader(new byte[4]), new int[1]));
    }

    [Fact]
    public void SingleDistinctSymbolUsesOneBit()
    {
        var symbols = Enumerable.Repeat(5, 100).ToArray();
        var code = HuffmanCode.Build(symbols, 8);
        Assert.Equal(1, code.Lengths[5]);
        Assert.Equal(100, code.EncodedBits(new long[] { 0, 0, 0, 0, 0, 100, 0, 0 }));
        RoundTrip(symbols, 8);
        // The unused code '1' is rejected.
        var r = new BitReader(new byte[] { 0x02 });
        Assert.Equal(5, code.DecodeSymbol(r));
        Assert.Throws<DszFormatException>(() => code.DecodeSymbol(r));
    }

    [Fact]
    public void UniformDistributionGivesEqualLengths()
    {
        var symbols = Enumerable.Range(0, 256 * 40).Select(i => i % 256).ToArray();
        var code = HuffmanCode.Build(symbols, 256);
        Assert.All(code.Lengths.ToArray(), l => Assert.Equal(8, l));
        RoundTrip(symbols, 256);
    }

    [Theory]
    [InlineData(1ul, 256, 0.0)]
    [InlineData(2ul, 256, 0.9)]
    [InlineData(3ul, 2, 0.5)]
    [InlineData(4ul, 32, 0.7)]
    [InlineData(5ul, 65536, 0.99)]
    [InlineData(6ul, 3, 0.999)]
    public void RandomStreamsRoundTrip(ulong seed, int alphabet, double skew)
    {
        var rng = new Rng(seed);
        for (int trial = 0; trial < 5; trial++)
        {
            int n = rng.NextInt(5000);
            var symbols = new int[n];
            for (int i = 0; i < n; i++)
            {
                // Geometric-like skew towards small symbols, else uniform.
                int s = 0;
                if (rng.NextDouble() < skew) { while (s < alphabet - 1 && rng.NextDouble() < 0.5) s++; }
                else s = rng.NextInt(alphabet);
                symbols[i] = s;
            }
            RoundTrip(symbols, alphabet);
            if (n > 0) AssertValidComplete(HuffmanCode.Build(symbols, alphabet));
        }
    }

    [Fact]
    public void AllSymbolsOfAByteRoundTripWithSkewedCounts()
    {
        var list = new List<int>();
        for (int s = 0; s < 256; s++) for (int k = 0; k <= s % 17; k++) list.Add(s);
        var symbols = list.ToArray();
        RoundTrip(symbols, 256);
        RoundTrip(symbols, 256, 9);
    }

    [Fact]
    public void CanonicalCodesAreConsecutiveWithinALength()
    {
        var code = HuffmanCode.FromLengths(new byte[] { 3, 3, 3, 3, 3, 2, 4, 4 });
        // Sorted by (length, symbol): 5 -> 00; 0..4 -> 010..110; 6,7 -> 1110, 1111.
        Assert.Equal(0b00u, code.CodeOf(5));
        Assert.Equal(new uint[] { 0b010, 0b011, 0b100, 0b101, 0b110 }, Enumerable.Range(0, 5).Select(s => code.CodeOf(s)).ToArray());
        Assert.Equal(0b1110u, code.CodeOf(6));
        Assert.Equal(0b1111u, code.CodeOf(7));
    }

    // ---------- invalid tables and streams ----------

    [Fact]
    public void InvalidLengthTablesAreRejected()
    {
        Assert.Throws<DszFormatException>(() => HuffmanCode.FromLengths(new byte[] { 1, 1, 1 }));    // over-subscribed
        Assert.Throws<DszFormatException>(() => HuffmanCode.FromLengths(new byte[] { 1, 2 }));       // incomplete
        Assert.Throws<DszFormatException>(() => HuffmanCode.FromLengths(new byte[] { 2 }));          // single symbol must be 1 bit
        Assert.Throws<DszFormatException>(() => HuffmanCode.FromLengths(new byte[] { 25, 1 }));      // too long
        Assert.Equal(0, HuffmanCode.FromLengths(new byte[4]).UsedSymbols);
    }

    [Fact]
    public void CorruptSerialisedTablesAreRejected()
    {
        // Length field 27 is reserved.
        var w = new BitWriter();
        w.WriteBits(27, 5);
        Assert.Throws<DszFormatException>(() => HuffmanCode.ReadTable(new BitReader(w.ToArray()), 4));
        // A zero run longer than the rest of the alphabet.
        w = new BitWriter();
        w.WriteBits(1, 5);
        w.WriteBits(31, 5);
        w.WriteBits(3, 2); // run of 4 with only 3 symbols left
        Assert.Throws<DszFormatException>(() => HuffmanCode.ReadTable(new BitReader(w.ToArray()), 4));
        // Table cut short.
        Assert.Throws<DszFormatException>(() => HuffmanCode.ReadTable(new BitReader(new byte[] { 0x01 }), 256));
    }

    [Fact]
    public void TruncatedStreamsThrowAtEveryCut()
    {
        // Fibonacci counts give codes of up to ~14 bits (beyond the 10-bit lookup table).
        var list = new List<int>();
        long a = 1, b = 1;
        for (int s = 0; s < 15; s++) { for (long k = 0; k < a; k++) list.Add(s); (a, b) = (b, a + b); }
        var rng = new Rng(17);
        var symbols = list.OrderBy(_ => rng.NextUInt64()).ToArray();
        var code = HuffmanCode.Build(symbols, 16);
        Assert.True(code.MaxLength > 10); // long codes exercise the slow decode path too
        var w = new BitWriter();
        code.Encode(symbols, w);
        var bytes = w.ToArray();
        for (int cut = 0; cut < bytes.Length; cut++)
        {
            var r = new BitReader(bytes.AsMemory(0, cut));
            Assert.Throws<DszFormatException>(() => code.Decode(r, new int[symbols.Length]));
        }
    }
}

namespace DeepShrink.Format;

/// <summary>
/// Optimal length-limited Huffman code lengths by the package-merge algorithm.
/// </summary>
/// <remarks>
/// Larmore and Hirschberg, "A fast algorithm for optimal length-limited Huffman codes" (JACM 1990).
/// Among all prefix codes whose longest codeword has at most <c>L</c> bits, package-merge minimises
/// <c>sum_i f_i * len_i</c>. Level 1 is the list of leaves sorted by weight; level <c>j</c> merges the
/// leaves with the "packages" formed by pairing adjacent items of level <c>j-1</c>. Taking the first
/// <c>2n-2</c> items of level <c>L</c> and expanding packages down the levels, a symbol's code length is
/// the number of levels in which its leaf is taken. Because each level's leaves are sorted, the
/// leaves taken in a level are always a prefix of the sorted leaves, so only one flag per item and
/// level is stored: O(n L) time and memory.
/// </remarks>
public static class HuffmanLengths
{
    /// <summary>Longest code length any DeepShrink Huffman table may use.</summary>
    public const int MaxSupportedLength = 24;

    /// <summary>
    /// Code lengths (0 for symbols of zero frequency) of an optimal prefix code whose codes have at most
    /// <paramref name="maxLength"/> bits. One used symbol gets length 1; no used symbol gives all zeros.
    /// </summary>
    /// <param name="frequencies">Non-negative symbol frequencies, indexed by symbol.</param>
    /// <param name="maxLength">Length limit, 1 to <see cref="MaxSupportedLength"/>.</param>
    public static byte[] Compute(ReadOnlySpan<long> frequencies, int maxLength = MaxSupportedLength)
    {
        if (maxLength < 1 || maxLength > MaxSupportedLength)
            throw new ArgumentOutOfRangeException(nameof(maxLength), $"must be 1..{MaxSupportedLength}");
        var lengths = new byte[frequencies.Length];
        var used = new List<int>();
        long total = 0;
        for (int s = 0; s < frequencies.Length; s++)
        {
            if (frequencies[s] < 0) throw new ArgumentException($"frequency of symbol {s} is negative");
            if (frequencies[s] == 0) continue;
            used.Add(s);
            total = checked(total + frequencies[s]);
        }
        int n = used.Count;
        if (n == 0) return lengths;
        if (n == 1) { lengths[used[0]] = 1; return lengths; }
        if (maxLength < 31 && n > 1L << maxLength)
            throw new ArgumentException($"{n} symbols cannot be coded with codes of at most {maxLength} bits");

        // Leaves sorted by (frequency, symbol) for a deterministic result.
        long[] freqCopy = frequencies.ToArray();
        used.Sort((a, b) => freqCopy[a] != freqCopy[b] ? freqCopy[a].CompareTo(freqCopy[b]) : a.CompareTo(b));
        var leafWeight = new long[n];
        for (int i = 0; i < n; i++) leafWeight[i] = freqCopy[used[i]];

        // A code over n symbols never needs more than n-1 bits.
        int levels = Math.Min(maxLength, n - 1);
        var isPackage = new bool[levels][];
        isPackage[0] = new bool[n];
        long[] prev = leafWeight;
        for (int j = 1; j < levels; j++)
        {
            int packages = prev.Length / 2;
            var merged = new long[n + packages];
            var flags = new bool[n + packages];
            int li = 0, pi = 0;
            for (int o = 0; o < merged.Length; o++)
            {
                long pw = pi < packages ? prev[2 * pi] + prev[2 * pi + 1] : long.MaxValue;
                if (li < n && leafWeight[li] <= pw) { merged[o] = leafWeight[li++]; }
                else { merged[o] = pw; flags[o] = true; pi++; }
            }
            isPackage[j] = flags;
            prev = merged;
        }

        int need = 2 * n - 2;
        for (int j = levels - 1; j >= 0; j--)
        {
            bool[] flags = isPackage[j];
            if (need > flags.Length) throw new InvalidOperationException("package-merge invariant violated");
            int leaves = 0, packs = 0;
            for (int o = 0; o < need; o++) { if (flags[o]) packs++; else leaves++; }
            for (int i = 0; i < leaves; i++) lengths[used[i]]++;
            need = 2 * packs;
        }
        return lengths;
    }
}

using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

public class XnorGemmTests
{
    public static TheoryData<XnorGemmPath> Paths()
    {
        var d = new TheoryData<XnorGemmPath>();
        foreach (var p in Enum.GetValues<XnorGemmPath>()) d.Add(p);
        return d;
    }

    /// <summary>Sampled shapes: panel tails (8 columns), word tails (64 bits), Harley-Seal blocks (16 words) with every remainder.</summary>
    private static IEnumerable<(int M, int N, int K)> Shapes()
    {
        var rng = new Rng(424242);
        yield return (1, 1, 1);
        yield return (3, 8, 64);
        yield return (5, 9, 65);
        yield return (2, 7, 1024);
        yield return (4, 17, 1024 + 37);
        yield return (3, 5, 64 * 31 + 63); // one full block + 15 words + a padded word
        yield return (70, 70, 200);
        yield return (65, 3, 128);
        yield return (4, 32, 1);          // generated 4x32 tile: only the masked tail word
        yield return (8, 64, 64 * 17);    // generated tiles, no tail
        yield return (9, 70, 64 * 20 + 5); // generated tiles with row, panel and word tails
        for (int t = 0; t < 30; t++) yield return (1 + rng.NextInt(70), 1 + rng.NextInt(70), 1 + rng.NextInt(200));
    }

    private static ulong[] RandomWords(Rng rng, int len) { var a = new ulong[len]; for (int i = 0; i < len; i++) a[i] = rng.NextUInt64(); return a; }

    [Theory, MemberData(nameof(Paths))]
    public void Path_matches_bitwise_reference_with_garbage_padding(XnorGemmPath path)
    {
        if (!XnorGemm.IsSupported(path)) return;
        var rng = new Rng(5);
        foreach (var (m, n, k) in Shapes())
        {
            int words = BinaryPack.WordsFor(k), lda = words + rng.NextInt(2), ldw = words + rng.NextInt(2), ldc = n + rng.NextInt(3);
            var a = RandomWords(rng, (m - 1) * lda + words); // padding bits past k are random on purpose
            var w = RandomWords(rng, (n - 1) * ldw + words);
            var expected = new int[(m - 1) * ldc + n];
            var actual = new int[expected.Length];
            XnorGemmReference.Multiply(m, n, k, a, lda, w, ldw, expected, ldc);
            XnorGemm.Multiply(m, a, lda, XnorPackedWeights.Pack(n, k, w, ldw), actual, ldc, path, threads: 1 + m % 3);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    Assert.True(expected[i * ldc + j] == actual[i * ldc + j], $"{path} m={m} n={n} k={k} at ({i},{j}): {expected[i * ldc + j]} vs {actual[i * ldc + j]}");
        }
    }

    [Theory, MemberData(nameof(Paths))]
    public void Equals_float_dot_of_signs(XnorGemmPath path)
    {
        if (!XnorGemm.IsSupported(path)) return;
        var rng = new Rng(8);
        const int m = 6, n = 11, k = 333;
        var x = Tensor.Uniform(rng, -1f, 1f, m, k).ToArray();
        var wf = Tensor.Uniform(rng, -1f, 1f, n, k).ToArray();
        x[5] = -0f; // -0 >= 0: counts as +1
        int words = BinaryPack.WordsFor(k);
        var a = new ulong[m * words];
        BinaryPack.PackRows(m, k, x, k, a);
        var c = new int[m * n];
        XnorGemm.Multiply(m, a, words, XnorPackedWeights.FromSigns(n, k, wf), c, n, path);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                int dot = 0;
                for (int p = 0; p < k; p++) dot += (x[i * k + p] >= 0) == (wf[j * k + p] >= 0) ? 1 : -1;
                Assert.Equal(dot, c[i * n + j]);
            }
    }

    [Theory, MemberData(nameof(Paths))]
    public void All_bits_different_or_equal_give_minus_k_and_k(XnorGemmPath path)
    {
        if (!XnorGemm.IsSupported(path)) return;
        // Largest per-byte counts of the carry-save tree: several full blocks plus 15 words plus a padded word.
        const int m = 2, n = 9, k = 64 * (16 * 3 + 15) + 63;
        int words = BinaryPack.WordsFor(k);
        var a = new ulong[m * words];
        Array.Fill(a, ulong.MaxValue);
        var w = new ulong[n * words];
        for (int q = 0; q < words; q++) w[4 * words + q] = ulong.MaxValue; // column 4 equals A
        var c = new int[m * n];
        XnorGemm.Multiply(m, a, words, XnorPackedWeights.Pack(n, k, w, words), c, n, path);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                Assert.Equal(j == 4 ? k : -k, c[i * n + j]);
    }

    [Theory, MemberData(nameof(Paths))]
    public void Empty_reduction_gives_zero(XnorGemmPath path)
    {
        if (!XnorGemm.IsSupported(path)) return;
        var c = Enumerable.Repeat(7, 3 * 9).ToArray();
        XnorGemm.Multiply(3, new ulong[3], 1, XnorPackedWeights.Pack(9, 0, new ulong[9], 1), c, 9, path);
        Assert.All(c, v => Assert.Equal(0, v));
    }

    [Fact]
    public void Packing_clears_padding_and_interleaves_columns()
    {
        var rng = new Rng(9);
        const int n = 10, k = 70;
        var w = RandomWords(rng, n * 2);
        var packed = XnorPackedWeights.Pack(n, k, w, 2);
        Assert.Equal(2, packed.Panels);
        Assert.Equal(2, packed.Words);
        for (int j = 0; j < n; j++)
            for (int q = 0; q < 2; q++)
                Assert.Equal(w[j * 2 + q] & BinaryPack.ValidMask(k, q), packed.Data[(j / 8 * 2 + q) * 8 + j % 8]);
        for (int j = n; j < 16; j++) Assert.Equal(0UL, packed.Data[(1 * 2 + 0) * 8 + j % 8]);
    }

    [Fact]
    public void Invalid_arguments_throw()
    {
        var w = XnorPackedWeights.Pack(2, 100, new ulong[4], 2);
        Assert.Throws<ArgumentException>(() => XnorGemm.Multiply(2, new ulong[4], 1, w, new int[4], 2));
        Assert.Throws<ArgumentException>(() => XnorGemm.Multiply(2, new ulong[3], 2, w, new int[4], 2));
        Assert.Throws<ArgumentException>(() => XnorGemm.Multiply(2, new ulong[4], 2, w, new int[3], 2));
        Assert.Throws<ArgumentException>(() => XnorPackedWeights.Pack(2, 100, new ulong[3], 2));
    }
}

using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

public class BinaryKernelTests
{
    [Fact]
    public void PackRows_sets_bit_for_non_negative_and_clears_padding()
    {
        var rng = new Rng(12);
        foreach (int k in new[] { 1, 7, 8, 9, 63, 64, 65, 130 })
        {
            const int rows = 3;
            int ldx = k + 2, words = BinaryPack.WordsFor(k);
            var x = Tensor.Uniform(rng, -1f, 1f, rows * ldx).ToArray();
            x[0] = -0f;
            if (k > 2) { x[1] = float.NaN; x[2] = 0f; }
            var bits = new ulong[rows * words];
            Array.Fill(bits, ulong.MaxValue); // must be fully overwritten
            BinaryPack.PackRows(rows, k, x, ldx, bits);
            for (int r = 0; r < rows; r++)
            {
                for (int p = 0; p < 64 * words; p++)
                {
                    bool bit = (bits[r * words + p / 64] >> (p % 64) & 1) != 0;
                    Assert.Equal(p < k && x[r * ldx + p] >= 0f, bit);
                }
            }
            var back = new float[rows * k];
            BinaryPack.UnpackRows(rows, k, bits, back);
            for (int r = 0; r < rows; r++)
                for (int p = 0; p < k; p++)
                    Assert.Equal(x[r * ldx + p] >= 0f ? 1f : -1f, back[r * k + p]);
        }
    }

    [Fact]
    public void ValidMask_covers_exactly_k_bits()
    {
        Assert.Equal(ulong.MaxValue, BinaryPack.ValidMask(64, 0));
        Assert.Equal(0UL, BinaryPack.ValidMask(64, 1));
        Assert.Equal(1UL, BinaryPack.ValidMask(65, 1));
        Assert.Equal((1UL << 63) - 1, BinaryPack.ValidMask(63, 0));
        Assert.Equal(0, BinaryPack.WordsFor(0));
        Assert.Equal(2, BinaryPack.WordsFor(65));
    }

    public static TheoryData<int, int, int, int> WeightShapes() => new()
    {
        { 1, 1, 1, 0 }, { 3, 5, 7, 1 }, { 4, 9, 64, 2 }, { 5, 70, 200, 0 }, { 17, 65, 131, 1 }, { 33, 3, 8, 2 }, { 2, 130, 513, 2 },
    };

    /// <summary>alphaKind: 0 = none (BinaryConnect), 1 = per tensor, 2 = per output channel (binary-weight networks).</summary>
    [Theory, MemberData(nameof(WeightShapes))]
    public void Binary_weight_paths_match_reference(int m, int n, int k, int alphaKind)
    {
        var rng = new Rng((ulong)(m * 1000 + n * 10 + k));
        int words = BinaryPack.WordsFor(k), ldx = k + 1, ldw = words + 1, ldy = n + 2;
        var x = Tensor.Uniform(rng, -2f, 2f, m * ldx).ToArray();
        var w = new ulong[n * ldw];
        for (int i = 0; i < w.Length; i++) w[i] = rng.NextUInt64(); // includes garbage padding bits
        float[] alpha = alphaKind == 0 ? [] : Tensor.Uniform(rng, 0.1f, 1f, alphaKind == 1 ? 1 : n).ToArray();
        var bias = Tensor.Uniform(rng, -1f, 1f, n).ToArray();
        var expected = new float[(m - 1) * ldy + n];
        BinaryWeightGemmReference.Multiply(m, n, k, x, ldx, w, ldw, alpha, bias, expected, ldy);
        foreach (var run in new Action<float[]>[]
        {
            y => BinaryWeightGemm.MultiplySignFlip(m, n, k, x, ldx, w, ldw, alpha, bias, y, ldy, threads: 2),
            y => BinaryWeightGemm.MultiplyUnpacked(m, n, k, x, ldx, w, ldw, alpha, bias, y, ldy, threads: 1),
            y => BinaryWeightGemm.Multiply(m, n, k, x, ldx, w, ldw, alpha, bias, y, ldy),
        })
        {
            var y = new float[expected.Length];
            run(y);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double tol = 1e-5 * (2.0 * k + 1);
                    Assert.InRange(y[i * ldy + j], expected[i * ldy + j] - tol, expected[i * ldy + j] + tol);
                }
        }
    }

    [Fact]
    public void ExpandSigns_matches_bits()
    {
        var rng = new Rng(77);
        const int k = 77;
        var bits = new[] { rng.NextUInt64(), rng.NextUInt64() };
        var dst = new float[k];
        BinaryWeightGemm.ExpandSigns(bits, k, dst);
        for (int p = 0; p < k; p++) Assert.Equal((bits[p / 64] >> (p % 64) & 1) != 0 ? 1f : -1f, dst[p]);
    }
}

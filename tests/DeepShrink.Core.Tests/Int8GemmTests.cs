using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

public class Int8GemmTests
{
    public static TheoryData<Int8GemmPath> Paths()
    {
        var d = new TheoryData<Int8GemmPath>();
        foreach (var p in Enum.GetValues<Int8GemmPath>()) d.Add(p);
        return d;
    }

    /// <summary>Sampled shapes: every tail of the 8x16 / 4x8 tiles, the 4-byte k groups and both blocking boundaries (96 rows, 512 k bytes).</summary>
    private static IEnumerable<(int M, int N, int K)> Shapes()
    {
        var rng = new Rng(20240607);
        yield return (1, 1, 1);
        yield return (8, 16, 4);
        yield return (7, 15, 3);
        yield return (9, 17, 5);
        yield return (70, 70, 200);
        yield return (97, 33, 517);
        yield return (2, 40, 1030);
        yield return (8, 32, 4);       // exactly one generated 8x32 tile
        yield return (17, 70, 2053);   // generated tiles accumulating over three k blocks, with row and panel edges
        for (int t = 0; t < 30; t++) yield return (1 + rng.NextInt(70), 1 + rng.NextInt(70), 1 + rng.NextInt(200));
    }

    private static byte[] RandomU8(Rng rng, int len) { var a = new byte[len]; for (int i = 0; i < len; i++) a[i] = (byte)rng.NextInt(256); return a; }
    private static sbyte[] RandomS8(Rng rng, int len) { var a = new sbyte[len]; for (int i = 0; i < len; i++) a[i] = (sbyte)(rng.NextInt(256) - 128); return a; }

    [Theory, MemberData(nameof(Paths))]
    public void Path_matches_reference_on_all_tails(Int8GemmPath path)
    {
        if (!Int8Gemm.IsSupported(path)) return; // the child-process ISA runner covers it
        var rng = new Rng(7);
        foreach (var (m, n, k) in Shapes())
        {
            int lda = k + rng.NextInt(3), ldw = k + rng.NextInt(3), ldc = n + rng.NextInt(3);
            var a = RandomU8(rng, (m - 1) * lda + k);
            var w = RandomS8(rng, (n - 1) * ldw + k);
            var expected = new int[(m - 1) * ldc + n];
            var actual = new int[expected.Length];
            Array.Fill(actual, 12345);
            for (int i = 0; i < m; i++) for (int j = n; j < ldc && i * ldc + j < expected.Length; j++) expected[i * ldc + j] = 12345;
            Int8GemmReference.Multiply(m, n, k, a, lda, w, ldw, expected, ldc);
            Int8Gemm.Multiply(m, a, lda, Int8PackedWeights.Pack(n, k, w, ldw), actual, ldc, path, threads: 1 + (m + n) % 3);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{path} m={m} n={n} k={k} lda={lda} ldc={ldc}");
        }
    }

    [Theory, MemberData(nameof(Paths))]
    public void Extreme_values_at_max_k_are_exact(Int8GemmPath path)
    {
        if (!Int8Gemm.IsSupported(path)) return;
        const int m = 9, n = 37, k = Int8Gemm.MaxK; // covers the generated 8x32 tile and both edge tiles
        var a = new byte[m * k];
        var w = new sbyte[n * k];
        Array.Fill(a, (byte)255);
        Array.Fill(w, (sbyte)-128);
        for (int p = 0; p < k; p++) w[5 * k + p] = 127; // one column at the positive extreme
        var c = new int[m * n];
        Int8Gemm.Multiply(m, a, k, Int8PackedWeights.Pack(n, k, w, k), c, n, path, threads: 2);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                Assert.Equal(j == 5 ? 255L * 127 * k : -255L * 128 * k, c[i * n + j]);
    }

    [Fact]
    public void Unpacked_overload_and_thread_counts_agree()
    {
        var rng = new Rng(11);
        const int m = 130, n = 75, k = 301;
        var a = RandomU8(rng, m * k);
        var w = RandomS8(rng, n * k);
        var expected = new int[m * n];
        Int8GemmReference.Multiply(m, n, k, a, k, w, k, expected, n);
        foreach (int threads in new[] { 1, 2, 5 })
        {
            var c = new int[m * n];
            Int8Gemm.Multiply(m, n, k, a, k, w, k, c, n, threads);
            Assert.Equal(expected, c);
        }
    }

    [Theory, MemberData(nameof(Paths))]
    public void Empty_reduction_gives_zero(Int8GemmPath path)
    {
        if (!Int8Gemm.IsSupported(path)) return;
        var c = Enumerable.Repeat(7, 3 * 5).ToArray();
        Int8Gemm.Multiply(3, new byte[3], 1, Int8PackedWeights.Pack(5, 0, new sbyte[5], 1), c, 5, path);
        Assert.All(c, v => Assert.Equal(0, v));
    }

    [Fact]
    public void Packing_records_column_sums_and_zero_padding()
    {
        var rng = new Rng(3);
        const int n = 19, k = 10;
        var w = RandomS8(rng, n * k);
        var packed = Int8PackedWeights.Pack(n, k, w, k);
        Assert.Equal(2, packed.Panels);
        Assert.Equal(3, packed.KGroups);
        Assert.Equal(2 * 3 * 64, packed.Data.Length);
        long nonZeroPadding = 0, total = 0;
        for (int j = 0; j < n; j++)
        {
            int s = 0;
            for (int p = 0; p < k; p++) s += w[j * k + p];
            Assert.Equal(s, packed.ColumnSums[j]);
        }
        foreach (var v in packed.Data) total += v;
        for (int j = 0; j < n; j++) for (int p = 0; p < k; p++) nonZeroPadding += w[j * k + p];
        Assert.Equal(nonZeroPadding, total); // the padding bytes are all zero
    }

    [Fact]
    public void Invalid_arguments_throw()
    {
        var w = Int8PackedWeights.Pack(2, 3, new sbyte[6], 3);
        Assert.Throws<ArgumentException>(() => Int8Gemm.Multiply(2, new byte[5], 3, w, new int[4], 2));
        Assert.Throws<ArgumentException>(() => Int8Gemm.Multiply(2, new byte[6], 2, w, new int[4], 2));
        Assert.Throws<ArgumentException>(() => Int8Gemm.Multiply(2, new byte[6], 3, w, new int[3], 2));
        Assert.Throws<ArgumentException>(() => Int8PackedWeights.Pack(1, Int8Gemm.MaxK + 1, new sbyte[Int8Gemm.MaxK + 1], Int8Gemm.MaxK + 1));
    }

    [Fact]
    public void Quantized_linear_layer_approximates_float_product()
    {
        // x in [-1, 3] asymmetric u8, w per-output-channel symmetric s8; y = x w^T + b within the rounding error bound.
        var rng = new Rng(99);
        const int m = 9, n = 21, k = 67;
        var x = Tensor.Uniform(rng, -1f, 3f, m, k).ToArray();
        var wt = Tensor.Uniform(rng, -0.5f, 0.5f, n, k).ToArray();
        var bias = Tensor.Uniform(rng, -1f, 1f, n).ToArray();
        var xp = QuantParams.Asymmetric(-1f, 3f);
        var qx = new byte[m * k];
        QuantKernels.QuantizeUInt8(x, xp.Scale, xp.ZeroPoint, qx);
        var sw = new float[n];
        for (int j = 0; j < n; j++) sw[j] = QuantParams.Symmetric(MaxAbs(wt.AsSpan(j * k, k))).Scale;
        var qw = new sbyte[n * k];
        QuantKernels.QuantizeInt8PerChannel(wt, n, k, sw, ReadOnlySpan<int>.Empty, qw);
        var packed = Int8PackedWeights.Pack(n, k, qw, k);
        var acc = new int[m * n];
        Int8Gemm.Multiply(m, qx, k, packed, acc, n);
        var corr = new int[n];
        Int8Requantize.ZeroPointCorrection(xp.ZeroPoint, packed.ColumnSums, corr);
        var mult = new float[n];
        Int8Requantize.OutputMultipliers(xp.Scale, sw, 1f, mult);
        var y = new float[m * n];
        Int8Requantize.ToFloat(m, n, acc, corr, ReadOnlySpan<int>.Empty, mult, bias, y);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double exact = bias[j], bound = 0;
                for (int p = 0; p < k; p++)
                {
                    exact += (double)x[i * k + p] * wt[j * k + p];
                    bound += 0.5 * xp.Scale * Math.Abs(wt[j * k + p]) + 0.5 * sw[j] * (Math.Abs(x[i * k + p]) + 0.5 * xp.Scale);
                }
                Assert.InRange(y[i * n + j], exact - bound - 1e-4, exact + bound + 1e-4);
            }
    }

    private static float MaxAbs(ReadOnlySpan<float> v) { float mx = 0; foreach (var f in v) mx = MathF.Max(mx, MathF.Abs(f)); return mx; }
}

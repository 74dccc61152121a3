using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

public class Int8RequantizeTests
{
    [Fact]
    public void Float_and_integer_outputs_match_reference_bit_for_bit()
    {
        var rng = new Rng(31);
        foreach (var (m, n) in new[] { (1, 1), (2, 7), (3, 8), (2, 31), (4, 33), (3, 70) })
        {
            var acc = new int[m * n];
            for (int i = 0; i < acc.Length; i++) acc[i] = (int)rng.NextUInt64(); // full int32 range, wrap-around included
            acc[0] = int.MinValue;
            var col = Enumerable.Range(0, n).Select(_ => rng.NextInt(20001) - 10000).ToArray();
            var row = Enumerable.Range(0, m).Select(_ => rng.NextInt(2001) - 1000).ToArray();
            var bias = Tensor.Uniform(rng, -5f, 5f, n).ToArray();
            var perChannel = Tensor.Uniform(rng, 1e-9f, 1e-7f, n).ToArray();
            foreach (var (c, r, mult, b) in new (int[], int[], float[], float[])[] { (col, row, perChannel, bias), ([], [], [3e-8f], []), (col, [], [2e-8f], bias) })
            {
                var expected = new float[m * n];
                QuantReference.RequantizeToFloat(m, n, acc, c, r, mult, b, expected);
                var y = new float[m * n];
                Int8Requantize.ToFloat(m, n, acc, c, r, mult, b, y);
                Assert.Equal(expected, y);

                var q8 = new sbyte[m * n];
                Int8Requantize.ToInt8(m, n, acc, c, r, mult, b, -3, q8);
                var u8 = new byte[m * n];
                Int8Requantize.ToUInt8(m, n, acc, c, r, mult, b, 128, u8);
                for (int i = 0; i < m * n; i++)
                {
                    Assert.Equal(QuantReference.RoundClamp(expected[i], -3, -128, 127), q8[i]);
                    Assert.Equal(QuantReference.RoundClamp(expected[i], 128, 0, 255), u8[i]);
                }
            }
        }
    }

    [Fact]
    public void Integer_output_rounds_half_to_even_and_saturates()
    {
        // multiplier 0.5 makes every odd accumulator a tie: 1 -> 0.5 -> 0, 3 -> 1.5 -> 2, 5 -> 2.5 -> 2.
        int[] acc = [1, 3, 5, -1, -3, -5, 1000, -1000, 255, 257];
        var q = new sbyte[acc.Length];
        Int8Requantize.ToInt8(1, acc.Length, acc, [], [], [0.5f], [], 0, q);
        Assert.Equal(new sbyte[] { 0, 2, 2, 0, -2, -2, 127, -128, 127, 127 }, q);
        var u = new byte[acc.Length];
        Int8Requantize.ToUInt8(1, acc.Length, acc, [], [], [0.5f], [], 10, u);
        Assert.Equal(new byte[] { 10, 12, 12, 10, 8, 8, 255, 0, 138, 138 }, u);
    }

    [Fact]
    public void Signed_activations_via_shift_and_correction_give_s8_by_s8_product()
    {
        var rng = new Rng(41);
        const int m = 5, n = 13, k = 45;
        var xs = Enumerable.Range(0, m * k).Select(_ => (sbyte)(rng.NextInt(256) - 128)).ToArray();
        var w = Enumerable.Range(0, n * k).Select(_ => (sbyte)(rng.NextInt(256) - 128)).ToArray();
        var xu = new byte[m * k];
        QuantKernels.ShiftToUnsigned(xs, xu);
        var packed = Int8PackedWeights.Pack(n, k, w, k);
        var acc = new int[m * n];
        Int8Gemm.Multiply(m, xu, k, packed, acc, n);
        var corr = new int[n];
        Int8Requantize.ZeroPointCorrection(128, packed.ColumnSums, corr);
        var y = new float[m * n];
        Int8Requantize.ToFloat(m, n, acc, corr, [], [1f], [], y);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                int dot = 0;
                for (int p = 0; p < k; p++) dot += xs[i * k + p] * w[j * k + p];
                Assert.Equal(dot, y[i * n + j]);
            }
    }

    [Fact]
    public void Shape_mismatches_throw()
    {
        var acc = new int[6];
        Assert.Throws<ArgumentException>(() => Int8Requantize.ToFloat(2, 3, acc, [1, 2], [], [1f], [], new float[6]));
        Assert.Throws<ArgumentException>(() => Int8Requantize.ToFloat(2, 3, acc, [], [], [1f, 2f], [], new float[6]));
        Assert.Throws<ArgumentException>(() => Int8Requantize.ToFloat(2, 3, acc, [], [], [1f], [], new float[5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Int8Requantize.ToInt8(2, 3, acc, [], [], [1f], [], 200, new sbyte[6]));
    }
}

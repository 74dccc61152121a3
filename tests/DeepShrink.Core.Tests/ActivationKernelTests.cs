using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

/// <summary>ReLU / leaky-ReLU kernels against the scalar reference (bit-exact), including NaN, signed zeros and block tails.</summary>
public class ActivationKernelTests
{
    private static float[] Values(int n, ulong seed)
    {
        var rng = new Rng(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            int r = rng.NextInt(50);
            a[i] = r == 0 ? float.NaN : r == 1 ? -0f : r == 2 ? 0f : r == 3 ? float.NegativeInfinity : rng.NextFloat() * 4f - 2f;
        }
        return a;
    }

    // lengths around the vector widths and the parallel block size (1 << 14), and a multi-block buffer
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(33)]
    [InlineData(16385)]
    [InlineData(100_003)]
    public void Kernels_MatchReference_BitExact(int n)
    {
        var x = Values(n, (ulong)n + 1); var dy = Values(n, (ulong)n + 7);
        foreach (float slope in new[] { 0f, 0.01f, 0.2f })
        {
            var want = new float[n]; var got = new float[n];
            ActivationReference.LeakyReluBackward(slope, x, dy, want);
            ActivationKernels.LeakyReluBackward(slope, x, dy, got);
            AssertBits(want, got, $"backward slope {slope}");
            ActivationReference.LeakyReluForward(slope, x, want);
            ActivationKernels.LeakyReluForward(slope, x, got);
            AssertBits(want, got, $"leaky forward slope {slope}");
        }
        var rw = new float[n]; var rg = new float[n];
        ActivationReference.ReluForward(x, rw);
        ActivationKernels.ReluForward(x, rg);
        AssertBits(rw, rg, "relu forward");
        foreach (int threads in new[] { 1, 2, 3 })
        {
            var t = new float[n];
            ActivationKernels.LeakyReluBackward(0f, x, dy, t, threads);
            var one = new float[n];
            ActivationReference.LeakyReluBackward(0f, x, dy, one);
            AssertBits(one, t, $"backward with {threads} threads");
        }
    }

    [Fact]
    public void Relu_ZeroesNegativeZero_AndKeepsNaN()
    {
        var y = new float[3];
        ActivationKernels.ReluForward(new[] { -0f, float.NaN, -1f }, y);
        Assert.Equal(0, BitConverter.SingleToInt32Bits(y[0]));
        Assert.True(float.IsNaN(y[1]));
        Assert.Equal(0f, y[2]);
    }

    [Fact]
    public void Kernels_RejectMismatchedLengths()
    {
        Assert.Throws<ArgumentException>(() => ActivationKernels.ReluForward(new float[3], new float[2]));
        Assert.Throws<ArgumentException>(() => ActivationKernels.LeakyReluBackward(0f, new float[3], new float[3], new float[4]));
    }

    private static void AssertBits(float[] want, float[] got, string what)
    {
        for (int i = 0; i < want.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(got[i]) || (float.IsNaN(want[i]) && float.IsNaN(got[i])),
                $"{what}: element {i} is {got[i]}, expected {want[i]}");
    }
}

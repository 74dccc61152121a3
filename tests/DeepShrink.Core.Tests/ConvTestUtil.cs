using DeepShrink.Core;
using DeepShrink.Core.Autograd;

namespace DeepShrink.Core.Tests;

/// <summary>Helpers shared by the convolution, pooling and batch-norm tests.</summary>
internal static class ConvTestUtil
{
    public static float[] Uniform(Rng rng, int n, float lo = -1f, float hi = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.NextFloat();
        return a;
    }

    /// <summary>A buffer of NaNs, to check that a kernel overwrites its whole destination.</summary>
    public static float[] Nan(int n) => Enumerable.Repeat(float.NaN, n).ToArray();

    public static Tensor Leaf(Rng rng, params int[] shape)
    {
        var t = Tensor.Uniform(rng, -1f, 1f, shape);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>Asserts |actual - expected| &lt;= tol (1 + |expected|) element-wise, naming the worst element.</summary>
    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs((double)actual[i] - expected[i]);
            if (!(err <= tol * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"{what}: element {i} is {actual[i]:G9}, expected {expected[i]:G9} (tolerance {tol:G3})");
        }
    }

    public static void AssertGrad(Func<Tensor[], Tensor> f, params Tensor[] inputs)
    {
        var r = GradCheck.Check(f, inputs);
        Assert.True(r.Ok, $"gradient mismatch (ratio {r.WorstRatio:G3}) at {r.Where}");
    }
}

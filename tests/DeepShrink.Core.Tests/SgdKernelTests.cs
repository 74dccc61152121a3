using System.Numerics.Tensors;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

/// <summary>The fused SGD kernel against its scalar reference and the unfused span formulation (bit-exact).</summary>
public class SgdKernelTests
{
    private static float[] Values(int n, Rng rng)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = rng.NextFloat() * 2f - 1f;
        return a;
    }

    [Theory]
    [InlineData(0f, 0f, false)]
    [InlineData(0f, 5e-4f, false)]
    [InlineData(0.9f, 0f, false)]
    [InlineData(0.9f, 5e-4f, false)]
    [InlineData(0.9f, 5e-4f, true)]
    public void Step_MatchesReference_AndUnfusedSpans(float mu, float wd, bool nesterov)
    {
        foreach (int n in new[] { 1, 15, 16, 17, 40_007 })
        {
            var rng = new Rng((ulong)n);
            var w0 = Values(n, rng); var g = Values(n, rng); var v0 = Values(n, rng);
            float lr = 0.03f;
            var wRef = (float[])w0.Clone(); var vRef = (float[])v0.Clone();
            SgdReference.Step(lr, mu, wd, nesterov, wRef, g, vRef);
            foreach (int threads in new[] { 1, 2 })
            {
                var w = (float[])w0.Clone(); var v = (float[])v0.Clone();
                SgdKernels.Step(lr, mu, wd, nesterov, w, g, mu == 0f ? default : v, threads);
                Assert.Equal(wRef, w);
                if (mu != 0f) Assert.Equal(vRef, v);
            }
            // the formulation the optimiser used before the fused kernel
            var ws = (float[])w0.Clone(); var vs = (float[])v0.Clone();
            var gd = wd != 0f ? new float[n] : g;
            if (wd != 0f) TensorPrimitives.MultiplyAdd(ws, wd, g, gd);
            if (mu == 0f) TensorPrimitives.MultiplyAdd(gd, -lr, ws, ws);
            else
            {
                TensorPrimitives.MultiplyAdd(vs, mu, gd, vs);
                if (nesterov) { TensorPrimitives.MultiplyAdd(gd, -lr, ws, ws); TensorPrimitives.MultiplyAdd(vs, -lr * mu, ws, ws); }
                else TensorPrimitives.MultiplyAdd(vs, -lr, ws, ws);
            }
            Assert.Equal(ws, wRef);
        }
    }

    [Fact]
    public void Step_RejectsMismatchedLengths()
    {
        Assert.Throws<ArgumentException>(() => SgdKernels.Step(0.1f, 0.9f, 0f, false, new float[4], new float[4], new float[3]));
        Assert.Throws<ArgumentException>(() => SgdKernels.Step(0.1f, 0f, 0f, false, new float[4], new float[5], default));
    }
}

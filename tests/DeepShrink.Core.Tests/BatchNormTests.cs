using DeepShrink.Core;
using DeepShrink.Core.Kernels;
using static DeepShrink.Core.Tests.ConvTestUtil;

namespace DeepShrink.Core.Tests;

/// <summary>Batch-norm kernels against the reference, the op against finite differences and hand computations.</summary>
public class BatchNormTests
{
    [Fact]
    public void Kernels_MatchReference_Sampled()
    {
        var rng = new Rng(31337);
        for (int t = 0; t < 40; t++)
        {
            int n = 1 + rng.NextInt(9), c = 1 + rng.NextInt(rng.NextInt(3) == 0 ? 70 : 6);
            int s = t % 4 == 0 ? 1 : 1 + rng.NextInt(rng.NextInt(2) == 0 ? 70 : 20);
            int size = n * c * s;
            var x = Uniform(rng, size, -2f, 3f); var dy = Uniform(rng, size);
            var gamma = Uniform(rng, c, 0.5f, 1.5f); var beta = Uniform(rng, c);
            var mRef = new float[c]; var vRef = new float[c]; var m = Nan(c); var v = Nan(c);
            BatchNormReference.BatchStats(n, c, s, x, mRef, vRef);
            BatchNormKernels.BatchStats(n, c, s, x, m, v);
            AssertClose(m, mRef, 1e-5, "mean");
            AssertClose(v, vRef, 1e-5, "variance");
            var yRef = new float[size]; var y = Nan(size);
            BatchNormReference.Normalize(n, c, s, x, gamma, beta, mRef, vRef, 1e-5f, yRef);
            BatchNormKernels.Normalize(n, c, s, x, gamma, beta, mRef, vRef, 1e-5f, y);
            AssertClose(y, yRef, 1e-4, "normalize");
            foreach (bool batchStats in new[] { true, false })
            {
                var dxRef = new float[size]; var dgRef = new float[c]; var dbRef = new float[c];
                var dx = Nan(size); var dg = Nan(c); var db = Nan(c);
                BatchNormReference.Backward(n, c, s, x, dy, gamma, mRef, vRef, 1e-5f, batchStats, dxRef, dgRef, dbRef);
                BatchNormKernels.Backward(n, c, s, x, dy, gamma, mRef, vRef, 1e-5f, batchStats, dx, dg, db);
                // dx with batch statistics subtracts near-equal terms when N S is 1: compare absolutely there.
                AssertClose(dx, dxRef, 2e-4, $"dx (batchStats={batchStats}, n={n}, c={c}, s={s})");
                AssertClose(dg, dgRef, 1e-4, "dgamma");
                AssertClose(db, dbRef, 1e-4, "dbeta");
            }
        }
    }

    [Fact]
    public void Training_UpdatesRunningStats_LikeHandComputation()
    {
        // Channel 0 holds 1, 2, 3, 4 (mean 2.5, biased var 1.25, unbiased 5/3); channel 1 holds 0, 0, 2, 2
        // (mean 1, biased var 1, unbiased 4/3). [N=2, C=2, 2, 1].
        var x = Tensor.FromArray(new[] { 1f, 2f, 0f, 0f, 3f, 4f, 2f, 2f }, 2, 2, 2, 1);
        var rm = Tensor.FromArray(new[] { 0f, 1f }, 2);
        var rv = Tensor.FromArray(new[] { 1f, 2f }, 2);
        var y = Ops.BatchNorm(x, Tensor.Ones(2), Tensor.Zeros(2), rm, rv, training: true, momentum: 0.1f, eps: 1e-5f);
        Assert.Equal(0.9f * 0f + 0.1f * 2.5f, rm.ToArray()[0], tolerance: 1e-6);
        Assert.Equal(0.9f * 1f + 0.1f * 1f, rm.ToArray()[1], tolerance: 1e-6);
        Assert.Equal(0.9f * 1f + 0.1f * 5f / 3f, rv.ToArray()[0], tolerance: 1e-6);
        Assert.Equal(0.9f * 2f + 0.1f * 4f / 3f, rv.ToArray()[1], tolerance: 1e-6);
        // Normalised with the biased batch variance.
        Assert.Equal((1 - 2.5) / Math.Sqrt(1.25 + 1e-5), y.ToArray()[0], tolerance: 1e-5);
        Assert.Equal((0 - 1) / Math.Sqrt(1 + 1e-5), y.ToArray()[2], tolerance: 1e-5);
    }

    [Fact]
    public void Eval_UsesRunningStats_AndLeavesThemAlone()
    {
        var x = Tensor.FromArray(new[] { 1f, 2f, 3f, 4f }, 2, 2);
        var rm = Tensor.FromArray(new[] { 1f, -1f }, 2); var rv = Tensor.FromArray(new[] { 4f, 0.25f }, 2);
        var gamma = Tensor.FromArray(new[] { 2f, 1f }, 2); var beta = Tensor.FromArray(new[] { 0.5f, 0f }, 2);
        var y = Ops.BatchNorm(x, gamma, beta, rm, rv, training: false, eps: 0.0001f).ToArray();
        Assert.Equal(2 * (1 - 1) / Math.Sqrt(4.0001) + 0.5, y[0], tolerance: 1e-5);
        Assert.Equal((2 + 1) / Math.Sqrt(0.2501), y[1], tolerance: 1e-4);
        Assert.Equal(2 * (3 - 1) / Math.Sqrt(4.0001) + 0.5, y[2], tolerance: 1e-5);
        Assert.Equal(new[] { 1f, -1f }, rm.ToArray());
        Assert.Equal(new[] { 4f, 0.25f }, rv.ToArray());
    }

    [Theory]
    [InlineData(4, 3, 0, 0, true)]
    [InlineData(5, 2, 0, 0, false)]
    [InlineData(2, 3, 3, 3, true)]
    [InlineData(3, 2, 2, 5, false)]
    [InlineData(1, 2, 3, 1, true)]
    public void BatchNorm_GradientsMatchFiniteDifferences(int n, int c, int h, int w, bool training)
    {
        var rng = new Rng((ulong)(n * 100 + c * 10 + h + w));
        var shape = h == 0 ? new[] { n, c } : new[] { n, c, h, w };
        var x = Tensor.Uniform(rng, -2f, 2f, shape); x.RequiresGrad = true;
        var gamma = Tensor.Uniform(rng, 0.5f, 1.5f, c); gamma.RequiresGrad = true;
        var beta = Leaf(rng, c);
        var rm = Tensor.Uniform(rng, -0.5f, 0.5f, c); var rv = Tensor.Uniform(rng, 0.5f, 2f, c);
        AssertGrad(t => Ops.BatchNorm(t[0], t[1], t[2], rm, rv, training), x, gamma, beta);
    }

    [Fact]
    public void ThreadCount_DoesNotChangeResults()
    {
        var rng = new Rng(9);
        int n = 7, c = 37, s = 45;
        var x = Uniform(rng, n * c * s); var dy = Uniform(rng, n * c * s); var gamma = Uniform(rng, c);
        float[] Run(int threads)
        {
            var m = new float[c]; var v = new float[c]; var dx = new float[n * c * s]; var dg = new float[c]; var db = new float[c];
            BatchNormKernels.BatchStats(n, c, s, x, m, v, threads);
            BatchNormKernels.Backward(n, c, s, x, dy, gamma, m, v, 1e-5f, true, dx, dg, db, threads);
            return m.Concat(v).Concat(dx).Concat(dg).Concat(db).ToArray();
        }
        Assert.Equal(Run(1), Run(2));
        Assert.Equal(Run(1), Run(3));
    }

    [Fact]
    public void BatchNorm_RejectsBadArguments()
    {
        var x = Tensor.Zeros(4, 3, 2, 2);
        var e = Assert.Throws<ArgumentException>(() => Ops.BatchNorm(x, Tensor.Ones(4), Tensor.Zeros(3), Tensor.Zeros(3), Tensor.Ones(3), true));
        Assert.Contains("gamma [4] expected [3]", e.Message);
        Assert.Throws<ArgumentException>(() => Ops.BatchNorm(Tensor.Zeros(3), Tensor.Ones(3), Tensor.Zeros(3), Tensor.Zeros(3), Tensor.Ones(3), true));
        Assert.Contains("more than one value", Assert.Throws<ArgumentException>(() =>
            Ops.BatchNorm(Tensor.Zeros(1, 3), Tensor.Ones(3), Tensor.Zeros(3), Tensor.Zeros(3), Tensor.Ones(3), true)).Message);
        Assert.Throws<ArgumentException>(() => Ops.BatchNorm(x, Tensor.Ones(3), Tensor.Zeros(3), Tensor.Zeros(3), Tensor.Ones(3), true, momentum: 1.5f));
        // eval on a single value per channel is fine
        Ops.BatchNorm(Tensor.Zeros(1, 3), Tensor.Ones(3), Tensor.Zeros(3), Tensor.Zeros(3), Tensor.Ones(3), false);
    }
}

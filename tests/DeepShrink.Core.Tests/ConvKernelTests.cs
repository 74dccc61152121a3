using DeepShrink.Core;
using DeepShrink.Core.Kernels;
using static DeepShrink.Core.Tests.ConvTestUtil;

namespace DeepShrink.Core.Tests;

/// <summary>Optimised convolution kernels against the scalar reference.</summary>
public class ConvKernelTests
{
    /// <summary>Hand-picked geometries: LeNet-5 layers, depthwise, grouped, dilated, pointwise (direct path), several chunks with a tail.</summary>
    public static TheoryData<ConvGeometry> Named => new()
    {
        new ConvGeometry(3, 1, 28, 28, 20, 5, 5),                                // LeNet conv1
        new ConvGeometry(3, 20, 12, 12, 50, 5, 5),                               // LeNet conv2
        new ConvGeometry(2, 6, 9, 11, 6, 3, 3, 1, 1, 1, 1, 1, 1, groups: 6),     // depthwise
        new ConvGeometry(2, 6, 10, 9, 12, 3, 3, 2, 2, 1, 1, 1, 1, groups: 6),    // depthwise, multiplier 2, stride 2
        new ConvGeometry(2, 4, 9, 13, 6, 3, 2, 1, 2, 2, 1, 2, 1, groups: 2),     // groups 2, dilation 2, per-axis
        new ConvGeometry(2, 5, 17, 16, 7, 1, 1),                                 // pointwise, plane >= 256: direct path
        new ConvGeometry(3, 5, 4, 5, 7, 1, 1),                                   // pointwise, small plane: packed
        new ConvGeometry(11, 8, 20, 20, 5, 3, 3, 1, 1, 1, 1),                    // 9 images per chunk: 2 chunks, tail of 2
        new ConvGeometry(3, 6, 18, 18, 12, 3, 3, 1, 1, 1, 1, 1, 1, groups: 3),   // groups, plane >= 256 in multi-image chunks: per-image GEMMs
        new ConvGeometry(5, 33, 7, 7, 17, 3, 3, 2, 2, 1, 1),                     // odd sizes, stride 2
        new ConvGeometry(1, 3, 1, 1, 4, 1, 1),                                   // 1x1 image
        new ConvGeometry(2, 2, 3, 3, 3, 3, 3, 1, 1, 2, 2, 2, 2),                 // dilation 2 with big padding
        new ConvGeometry(0, 3, 5, 5, 4, 3, 3),                                   // empty batch
    };

    [Theory, MemberData(nameof(Named))]
    public void MatchesReference_Named(ConvGeometry g) => CompareWithReference(g, 11);

    [Fact]
    public void MatchesReference_Sampled()
    {
        // Channel counts and planes sampled up to ~70 (rarely multiples of 16), all hyper-parameters mixed.
        var rng = new Rng(20240601);
        int done = 0;
        for (int attempt = 0; done < 60 && attempt < 1000; attempt++)
        {
            int groups = 1 + rng.NextInt(3);
            int c = groups * (1 + rng.NextInt(rng.NextInt(4) == 0 ? 24 : 6));
            int o = groups * (1 + rng.NextInt(rng.NextInt(4) == 0 ? 24 : 6));
            int h = 1 + rng.NextInt(rng.NextInt(3) == 0 ? 70 : 14), w = 1 + rng.NextInt(rng.NextInt(3) == 0 ? 70 : 14);
            int kh = 1 + rng.NextInt(5), kw = 1 + rng.NextInt(5);
            int sh = 1 + rng.NextInt(3), sw = 1 + rng.NextInt(3), ph = rng.NextInt(3), pw = rng.NextInt(3);
            int dh = 1 + rng.NextInt(2), dw = 1 + rng.NextInt(2), n = 1 + rng.NextInt(4);
            if ((long)dh * (kh - 1) + 1 > h + 2 * ph || (long)dw * (kw - 1) + 1 > w + 2 * pw) continue;
            var g = new ConvGeometry(n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups);
            if (g.Macs > 400_000) continue;
            CompareWithReference(g, (ulong)attempt);
            done++;
        }
        Assert.Equal(60, done);
    }

    [Fact]
    public void ThreadCount_DoesNotChangeResults()
    {
        foreach (var g in new[] { new ConvGeometry(11, 8, 20, 20, 5, 3, 3, 1, 1, 1, 1), new ConvGeometry(4, 20, 12, 12, 50, 5, 5), new ConvGeometry(2, 5, 17, 16, 7, 1, 1) })
        {
            var rng = new Rng(5);
            var x = Uniform(rng, g.InputSize); var w = Uniform(rng, g.WeightSize); var b = Uniform(rng, g.O); var dy = Uniform(rng, g.OutputSize);
            float[][] Run(int threads)
            {
                var y = new float[g.OutputSize]; var dx = new float[g.InputSize]; var dw = new float[g.WeightSize]; var db = new float[g.O];
                ConvKernels.Forward(g, x, w, b, y, threads);
                ConvKernels.Backward(g, x, w, dy, dx, dw, db, threads);
                return new[] { y, dx, dw, db };
            }
            var one = Run(1);
            foreach (int t in new[] { 2, 3 })
            {
                var r = Run(t);
                for (int k = 0; k < one.Length; k++) Assert.Equal(one[k], r[k]);
            }
        }
    }

    [Fact]
    public void Backward_SkipsEmptyDestinations_AndOverwritesOthers()
    {
        var g = new ConvGeometry(2, 4, 6, 6, 3, 3, 3, 1, 1, 1, 1);
        var rng = new Rng(8);
        var x = Uniform(rng, g.InputSize); var w = Uniform(rng, g.WeightSize); var dy = Uniform(rng, g.OutputSize);
        var dxRef = new float[g.InputSize]; var dwRef = new float[g.WeightSize]; var dbRef = new float[g.O];
        ConvReference.Backward(g, x, w, dy, dxRef, dwRef, dbRef);
        var dw = Nan(g.WeightSize);
        ConvKernels.Backward(g, x, w, dy, default, dw, default);
        AssertClose(dw, dwRef, 1e-4, "dw only");
        var dx = Nan(g.InputSize);
        ConvKernels.Backward(g, x, w, dy, dx, default, default);
        AssertClose(dx, dxRef, 1e-4, "dx only");
    }

    [Fact]
    public void Geometry_RejectsInvalidParameters()
    {
        Assert.Throws<ArgumentException>(() => new ConvGeometry(1, 4, 5, 5, 6, 3, 3, groups: 4));  // 6 % 4 != 0
        Assert.Throws<ArgumentException>(() => new ConvGeometry(1, 1, 5, 5, 1, 3, 3, sh: 0));
        Assert.Throws<ArgumentException>(() => new ConvGeometry(1, 1, 5, 5, 1, 3, 3, ph: -1));
        Assert.Throws<ArgumentException>(() => new ConvGeometry(1, 1, 5, 5, 1, 3, 3, dh: 3));      // effective kernel 7 > 5
        var g = new ConvGeometry(1, 2, 5, 5, 3, 3, 3);
        var e = Assert.Throws<ArgumentException>(() => ConvKernels.Forward(g, new float[49], new float[54], default, new float[27]));
        Assert.Contains("expected 50", e.Message);
    }

    private static void CompareWithReference(ConvGeometry g, ulong seed)
    {
        var rng = new Rng(seed);
        var x = Uniform(rng, g.InputSize); var w = Uniform(rng, g.WeightSize); var b = Uniform(rng, g.O); var dy = Uniform(rng, g.OutputSize);
        double tol = 2e-6 * Math.Max(16, g.GroupK);
        // Destinations start as NaN: the kernels must overwrite every element.
        var yRef = new float[g.OutputSize]; var y = Nan(g.OutputSize);
        ConvReference.Forward(g, x, w, b, yRef);
        ConvKernels.Forward(g, x, w, b, y);
        AssertClose(y, yRef, tol, $"forward {g}");
        var y0 = Nan(g.OutputSize);
        ConvReference.Forward(g, x, w, default, yRef);
        ConvKernels.Forward(g, x, w, default, y0);
        AssertClose(y0, yRef, tol, $"forward without bias {g}");

        var dxRef = new float[g.InputSize]; var dwRef = new float[g.WeightSize]; var dbRef = new float[g.O];
        var dx = Nan(g.InputSize); var dw = Nan(g.WeightSize); var db = Nan(g.O);
        ConvReference.Backward(g, x, w, dy, dxRef, dwRef, dbRef);
        ConvKernels.Backward(g, x, w, dy, dx, dw, db);
        AssertClose(dx, dxRef, 2e-6 * Math.Max(16, g.OPerGroup * g.KH * g.KW), $"backward data {g}");
        AssertClose(dw, dwRef, 2e-6 * Math.Max(16, g.N * g.OutPlane), $"backward weight {g}");
        AssertClose(db, dbRef, 2e-6 * Math.Max(16, g.N * g.OutPlane), $"bias grad {g}");
    }
}

using DeepShrink.Compression.Pruning;
using DeepShrink.Core;
using DeepShrink.Nn;
using static DeepShrink.Compression.Tests.PruningMath;

namespace DeepShrink.Compression.Tests;

public class LayerCalibrationTests
{
    /// <summary>A hook that doubles its layer's output and counts calls.</summary>
    private sealed class DoublingHook : IForwardHook
    {
        public int Calls;
        public Tensor Forward(Module module, Tensor x, Func<Tensor, Tensor> next) { Calls++; return next(x) * 2f; }
        public IReadOnlyDictionary<string, double> GraphAttrs { get; } = new Dictionary<string, double>();
        public IReadOnlyDictionary<string, Tensor> State { get; } = new Dictionary<string, Tensor>();
    }

    private static double[] Direct(float[] rows, int n, int d)
    {
        var h = new double[d * d];
        for (int i = 0; i < n; i++)
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++) h[a * d + b] += 2.0 * rows[i * d + a] * rows[i * d + b] / n;
        return h;
    }

    [Fact]
    public void LinearHessians_Are2XXtOverN_AndHooksAreRestored()
    {
        var rng = new Rng(3);
        var fc1 = new Linear(5, 4, rng);
        var fc2 = new Linear(4, 3, rng);
        var model = new Sequential(("fc1", fc1), ("relu", Activation.ReLU()), ("fc2", fc2));
        var hook = new DoublingHook();
        fc2.ForwardHook = hook;
        var x1 = Gaussian(4, 7, 5);
        var x2 = Gaussian(5, 9, 5);
        var batches = new[] { Tensor.FromArray(x1, 7, 5), Tensor.FromArray(x2, 9, 5) };
        model.Train();
        var h = LayerCalibration.CollectHessians(model, batches);

        Assert.Equal(new[] { "fc1", "fc2" }, h.Keys.OrderBy(k => k).ToArray());
        var all = x1.Concat(x2).ToArray();
        Assert.Equal(16, h["fc1"].Samples);
        var m1 = h["fc1"].Matrix();
        var e1 = Direct(all, 16, 5);
        for (int i = 0; i < e1.Length; i++) Assert.Equal(e1[i], m1[i], 5);
        var hidden = Ops.Relu(fc1.Forward(Tensor.FromArray(all, 16, 5))).ToArray();
        var m2 = h["fc2"].Matrix();
        var e2 = Direct(hidden, 16, 4);
        for (int i = 0; i < e2.Length; i++) Assert.Equal(e2[i], m2[i], 5);
        Assert.Equal(Enumerable.Range(0, 4).Select(j => e2[j * 4 + j]), h["fc2"].Diagonal(), new ToleranceComparer(1e-5));

        Assert.Same(hook, fc2.ForwardHook);
        Assert.Null(fc1.ForwardHook);
        Assert.Equal(2, hook.Calls); // the replaced hook still ran during calibration
        Assert.True(model.Training);
    }

    [Fact]
    public void ConvHessian_MatchesExplicitPatches()
    {
        const int n = 2, c = 2, hw = 5, k = 3, stride = 2, pad = 1;
        var conv = new Conv2d(c, 3, k, new Rng(8), stride: stride, padding: pad);
        var x = Gaussian(9, n, c * hw * hw);
        var h = LayerCalibration.CollectHessians(conv, new[] { Tensor.FromArray(x, n, c, hw, hw) })[""];
        int oh = (hw + 2 * pad - k) / stride + 1, dim = c * k * k;
        var patches = new List<float>();
        for (int i = 0; i < n; i++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < oh; ox++)
                    for (int ch = 0; ch < c; ch++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++)
                            {
                                int y = oy * stride - pad + ky, xx = ox * stride - pad + kx;
                                patches.Add(y < 0 || y >= hw || xx < 0 || xx >= hw ? 0f : x[((i * c + ch) * hw + y) * hw + xx]);
                            }
        int p = n * oh * oh;
        Assert.Equal(p, h.Samples);
        var expected = Direct(patches.ToArray(), p, dim);
        var actual = h.Matrix();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 5);
    }

    [Fact]
    public void UnknownLayer_AndGroupedConv_AreClearErrors()
    {
        var model = new Sequential(("fc", new Linear(3, 2, new Rng(1))));
        var e = Assert.Throws<ArgumentException>(() => LayerCalibration.CollectHessians(model, new[] { new Tensor(1, 3) }, new[] { "fc9" }));
        Assert.Contains("fc9", e.Message);
        var grouped = new Conv2d(4, 4, 3, new Rng(1), groups: 2);
        Assert.Throws<ArgumentException>(() => LayerCalibration.CollectHessians(grouped, new[] { new Tensor(1, 4, 5, 5) }));
        Assert.Null(grouped.ForwardHook);
    }

    private sealed class ToleranceComparer(double tol) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tol;
        public int GetHashCode(double v) => 0;
    }
}

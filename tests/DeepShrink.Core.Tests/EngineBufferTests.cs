using DeepShrink.Core.Autograd;

namespace DeepShrink.Core.Tests;

/// <summary>
/// The engine's gradient-buffer handling: leaf gradients kept without a copy, gradients recycled once
/// consumed (GradBufferPool), in-place accumulation of engine-owned gradients. Results must be exactly
/// those of a fresh process, whatever was recycled before, and nothing a caller can see may change.
/// </summary>
public class EngineBufferTests
{
    private sealed record Net(Tensor W1, Tensor B1, Tensor W2, Tensor B2, Tensor Fc);

    private static Net MakeNet(ulong seed)
    {
        var rng = new Rng(seed);
        Tensor P(params int[] shape) { var t = Tensor.Randn(rng, 0.3f, shape); t.RequiresGrad = true; return t; }
        return new Net(P(6, 1, 5, 5), P(6), P(8, 6, 3, 3), P(8), P(10, 8 * 2 * 2));
    }

    /// <summary>conv -> relu -> pool -> conv -> relu -> pool -> linear -> cross-entropy (LeNet-like, batch 16: buffers above the pool's minimum size).</summary>
    private static Tensor Loss(Net n, Tensor x, int[] y)
    {
        var h = Ops.MaxPool2d(Ops.Relu(Ops.Conv2d(x, n.W1, n.B1)), 2, 2);
        h = Ops.MaxPool2d(Ops.Relu(Ops.Conv2d(h, n.W2, n.B2)), 2, 2);
        return Ops.CrossEntropy(Ops.Linear(Ops.Flatten(h), n.Fc, null), y, 0.1f);
    }

    private static (Tensor X, int[] Y) Batch(ulong seed)
    {
        var rng = new Rng(seed);
        return (Tensor.Randn(rng, 1f, 16, 1, 16, 16), Enumerable.Range(0, 16).Select(_ => rng.NextInt(10)).ToArray());
    }

    private static float[][] Grads(Net n) => new[] { n.W1, n.B1, n.W2, n.B2, n.Fc }.Select(p => p.Grad!.ToArray()).ToArray();

    [Fact]
    public void RepeatedSteps_GiveTheSameGradients_AsAFreshGraph()
    {
        var (x, y) = Batch(1);
        var fresh = MakeNet(7);
        Loss(fresh, x, y).Backward();
        var want = Grads(fresh);

        var net = MakeNet(7);
        for (int step = 0; step < 4; step++)
        {
            foreach (var p in new[] { net.W1, net.B1, net.W2, net.B2, net.Fc }) p.ZeroGrad();
            var (xo, yo) = Batch(100 + (ulong)step); // other batches in between: buffers come back from the pool
            Loss(net, xo, yo).Backward();
            foreach (var p in new[] { net.W1, net.B1, net.W2, net.B2, net.Fc }) p.ZeroGrad();
            Loss(net, x, y).Backward();
            var got = Grads(net);
            for (int i = 0; i < want.Length; i++) Assert.Equal(want[i], got[i]);
        }
    }

    [Fact]
    public void KeptLeafGradients_AreNotOverwrittenByLaterPasses()
    {
        var net = MakeNet(3);
        var (x, y) = Batch(2);
        Loss(net, x, y).Backward();
        var kept = new[] { net.W1.Grad!, net.W2.Grad!, net.Fc.Grad! };
        var copies = kept.Select(t => t.ToArray()).ToArray();
        foreach (var p in new[] { net.W1, net.B1, net.W2, net.B2, net.Fc }) p.ZeroGrad();
        for (int i = 0; i < 3; i++) Loss(net, Batch(10 + (ulong)i).X, y).Backward();
        for (int i = 0; i < kept.Length; i++) Assert.Equal(copies[i], kept[i].ToArray());
    }

    [Fact]
    public void SecondBackward_ThroughTheSameGraph_Accumulates()
    {
        var net = MakeNet(5);
        var (x, y) = Batch(3);
        var loss = Loss(net, x, y);
        loss.Backward();
        var once = Grads(net);
        loss.Backward();
        var twice = Grads(net);
        for (int i = 0; i < once.Length; i++)
            for (int j = 0; j < once[i].Length; j++) Assert.Equal(2 * once[i][j], twice[i][j], 5);
    }

    [Fact]
    public void HookedAndRetainedGradients_StayIntact()
    {
        var net = MakeNet(9);
        var (x, y) = Batch(4);
        Tensor? seen = null;
        var h = Ops.Relu(Ops.Conv2d(x, net.W1, net.B1));
        h.RetainGrad = true;
        var p = Ops.MaxPool2d(h, 2, 2);
        p.RegisterHook(g => { seen = g; return g; });
        var h2 = Ops.MaxPool2d(Ops.Relu(Ops.Conv2d(p, net.W2, net.B2)), 2, 2);
        Ops.CrossEntropy(Ops.Linear(Ops.Flatten(h2), net.Fc, null), y).Backward();
        var seenCopy = seen!.ToArray(); var retained = h.Grad!.ToArray();
        for (int i = 0; i < 3; i++) Loss(net, Batch(20 + (ulong)i).X, y).Backward();
        Assert.Equal(seenCopy, seen.ToArray());
        Assert.Equal(retained, h.Grad!.ToArray());
    }

    [Fact]
    public void ConvWeightGradient_IsTheSame_WhetherOrNotTheInputNeedsAGradient()
    {
        var rng = new Rng(11);
        var x = Tensor.Randn(rng, 1f, 8, 3, 12, 12);
        var w = Tensor.Randn(rng, 0.2f, 5, 3, 3, 3); w.RequiresGrad = true;
        var b = Tensor.Randn(rng, 0.2f, 5); b.RequiresGrad = true;
        Ops.Sum(Ops.Square(Ops.Conv2d(x, w, b))).Backward();
        var (dw, db) = (w.Grad!.ToArray(), b.Grad!.ToArray());
        w.ZeroGrad(); b.ZeroGrad();
        var xg = x.Clone(); xg.RequiresGrad = true;
        Ops.Sum(Ops.Square(Ops.Conv2d(xg, w, b))).Backward();
        Assert.Equal(dw, w.Grad!.ToArray());
        Assert.Equal(db, b.Grad!.ToArray());
        Assert.NotNull(xg.Grad);
    }

    [Fact]
    public void ATensorHandedToSeveralInputs_IsNotRecycledEarly()
    {
        // Add hands its incoming gradient to both inputs; both branches then run backward nodes on it.
        var rng = new Rng(12);
        var x = Tensor.Randn(rng, 1f, 64, 100); x.RequiresGrad = true;
        var a = Ops.Relu(x); var c = Ops.Relu(Ops.MulScalar(x, 2f));
        var s = Ops.Sum(Ops.Square(Ops.Add(a, c)));
        s.Backward();
        var got = x.Grad!.ToArray();
        var xv = x.ToArray();
        for (int i = 0; i < xv.Length; i++)
        {
            float v = xv[i], sum = Math.Max(v, 0f) + Math.Max(2f * v, 0f);
            float want = 2f * sum * ((v > 0f ? 1f : 0f) + (v > 0f ? 2f : 0f));
            Assert.Equal(want, got[i], 4);
        }
    }
}

using DeepShrink.Core;
using DeepShrink.Core.Autograd;

using static DeepShrink.Core.Tests.GradAssert;

namespace DeepShrink.Core.Tests;

public class OpGradientTests
{
    public static TheoryData<int[], int[]> BroadcastShapes => new()
    {
        { new[] { 3, 5 }, new[] { 3, 5 } },
        { new[] { 4, 7 }, new[] { 7 } },
        { new[] { 2, 3, 5 }, new[] { 3, 1 } },
        { new[] { 1 }, new[] { 6, 2 } },
        { new[] { 5, 1, 3 }, new[] { 1, 4, 1 } },
    };

    [Theory, MemberData(nameof(BroadcastShapes))]
    public void Add_Sub_Mul_Div(int[] sa, int[] sb)
    {
        var rng = new Rng(1);
        AssertGrad(x => Ops.Add(x[0], x[1]), Leaf(rng, sa), Leaf(rng, sb));
        AssertGrad(x => Ops.Sub(x[0], x[1]), Leaf(rng, sa), Leaf(rng, sb));
        AssertGrad(x => Ops.Mul(x[0], x[1]), Leaf(rng, sa), Leaf(rng, sb));
        var b = Tensor.Uniform(rng, 0.5f, 2f, sb); b.RequiresGrad = true;
        AssertGrad(x => Ops.Div(x[0], x[1]), Leaf(rng, sa), b);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(33)]
    public void Unary(int n)
    {
        var rng = new Rng((ulong)n);
        AssertGrad(x => Ops.Neg(x[0]), Leaf(rng, n, 3));
        AssertGrad(x => Ops.Exp(x[0]), Leaf(rng, n, 3));
        AssertGrad(x => Ops.Tanh(x[0]), Leaf(rng, n, 3));
        AssertGrad(x => Ops.Sigmoid(x[0]), Leaf(rng, n, 3));
        AssertGrad(x => Ops.Gelu(x[0]), Leaf(rng, n, 3));
        AssertGrad(x => Ops.Square(x[0]), Leaf(rng, n, 3));
        AssertGrad(x => Ops.MulScalar(Ops.AddScalar(x[0], 0.5f), -3f), Leaf(rng, n, 3));
        var pos = Tensor.Uniform(rng, 0.5f, 2f, n, 3); pos.RequiresGrad = true;
        AssertGrad(x => Ops.Log(x[0]), pos);
        AssertGrad(x => Ops.Sqrt(x[0]), pos);
        AssertGrad(x => Ops.Pow(x[0], 2.5f), pos);
    }

    [Fact]
    public void Kinks_AwayFromZero()
    {
        // Values kept at least 0.05 from the kink so finite differences (h = 0.01) do not straddle it.
        var rng = new Rng(3);
        var t = Tensor.Uniform(rng, 0.05f, 1f, 6, 5);
        var s = t.Span;
        for (int i = 0; i < s.Length; i += 2) s[i] = -s[i];
        t.RequiresGrad = true;
        AssertGrad(x => Ops.Relu(x[0]), t);
        AssertGrad(x => Ops.LeakyRelu(x[0], 0.1f), t);
        AssertGrad(x => Ops.Abs(x[0]), t);
        AssertGrad(x => Ops.Clamp(x[0], -0.5f, 0.5f), Tensor.FromArray(new[] { -0.9f, -0.3f, 0.2f, 0.7f }, 4).Also(z => z.RequiresGrad = true));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(-1)]
    public void Reductions(int axis)
    {
        var rng = new Rng(4);
        AssertGrad(x => Ops.Sum(x[0], axis), Leaf(rng, 3, 4, 5));
        AssertGrad(x => Ops.Mean(x[0], axis, keepDim: true), Leaf(rng, 3, 4, 5));
        AssertGrad(x => Ops.Max(x[0], axis), Leaf(rng, 3, 4, 5));
        AssertGrad(x => Ops.Sum(x[0]), Leaf(rng, 2, 3));
        AssertGrad(x => Ops.Mean(x[0]), Leaf(rng, 2, 3));
    }

    [Fact]
    public void ShapeOps()
    {
        var rng = new Rng(5);
        AssertGrad(x => Ops.Mul(Ops.Reshape(x[0], 6, -1), Ops.Reshape(x[0], 6, -1)), Leaf(rng, 2, 3, 4));
        AssertGrad(x => Ops.Contiguous(Ops.Transpose(x[0], 0, 2)), Leaf(rng, 2, 3, 4));
        AssertGrad(x => Ops.Contiguous(Ops.Permute(x[0], 1, 2, 0)), Leaf(rng, 2, 3, 4));
        AssertGrad(x => Ops.Narrow(x[0], 1, 1, 2), Leaf(rng, 2, 5, 3));
        AssertGrad(x => Ops.Concat(1, x[0], x[1]), Leaf(rng, 2, 2, 3), Leaf(rng, 2, 4, 3));
        AssertGrad(x => Ops.Flatten(x[0]), Leaf(rng, 2, 3, 4));
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 5, 7)]
    [InlineData(17, 9, 33)]
    public void MatMul_Linear(int m, int k, int n)
    {
        var rng = new Rng(6);
        AssertGrad(x => Ops.MatMul(x[0], x[1]), Leaf(rng, m, k), Leaf(rng, k, n));
        AssertGrad(x => Ops.Linear(x[0], x[1], x[2]), Leaf(rng, m, k), Leaf(rng, n, k), Leaf(rng, n));
        AssertGrad(x => Ops.Linear(x[0], x[1], null), Leaf(rng, m, k), Leaf(rng, n, k));
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(5, 10)]
    [InlineData(8, 3)]
    public void Losses(int n, int c)
    {
        var rng = new Rng(7);
        var labels = Enumerable.Range(0, n).Select(i => i % c).ToArray();
        AssertGrad(x => Ops.LogSoftmax(x[0]), Leaf(rng, n, c));
        AssertGrad(x => Ops.Softmax(x[0]), Leaf(rng, n, c));
        AssertGrad(x => Ops.CrossEntropy(x[0], labels), Leaf(rng, n, c));
        AssertGrad(x => Ops.CrossEntropy(x[0], labels, 0.1f), Leaf(rng, n, c));
        var t = Tensor.Uniform(rng, 0f, 1f, n, c);
        var tn = Ops.Div(t, Ops.Sum(t, 1, keepDim: true));
        AssertGrad(x => Ops.SoftCrossEntropy(x[0], tn, 4f), Leaf(rng, n, c));
        AssertGrad(x => Ops.Mse(x[0], x[1]), Leaf(rng, n, c), Leaf(rng, n, c));
    }

    [Fact]
    public void CrossEntropy_MatchesHandComputedValue()
    {
        // logits [0, ln 3] -> softmax [1/4, 3/4]; label 1 -> loss = -ln(3/4)
        var z = Tensor.FromArray(new[] { 0f, MathF.Log(3f) }, 1, 2);
        Assert.Equal(-Math.Log(0.75), Ops.CrossEntropy(z, new[] { 1 }).Item(), 5);
        // huge logits stay finite (stable log-sum-exp)
        var big = Tensor.FromArray(new[] { 1000f, 0f }, 1, 2);
        Assert.Equal(1000.0, Ops.CrossEntropy(big, new[] { 1 }).Item(), 2);
    }

    [Fact]
    public void Gradients_Accumulate_And_Hooks_Apply()
    {
        var w = Tensor.FromArray(new[] { 1f, 2f, 3f }, 3); w.RequiresGrad = true;
        Ops.Sum(Ops.MulScalar(w, 2f)).Backward();
        Ops.Sum(Ops.MulScalar(w, 2f)).Backward();
        Assert.Equal(new[] { 4f, 4f, 4f }, w.Grad!.ToArray());
        w.ZeroGrad();
        var mask = Tensor.FromArray(new[] { 1f, 0f, 1f }, 3);
        w.RegisterHook(g => Ops.Mul(g, mask));
        Ops.Sum(Ops.Mul(w, w)).Backward();
        Assert.Equal(new[] { 2f, 0f, 6f }, w.Grad!.ToArray());
    }

    [Fact]
    public void NoGrad_RecordsNothing()
    {
        var w = Tensor.Ones(2); w.RequiresGrad = true;
        Tensor y;
        using (Engine.NoGrad()) y = Ops.MulScalar(w, 3f);
        Assert.False(y.RequiresGrad);
        Assert.Null(y.GradFn);
    }

    [Fact]
    public void SharedSubexpression_GradientsSum()
    {
        // y = x*x + x -> dy/dx = 2x + 1
        var x = Tensor.FromArray(new[] { 3f }, 1); x.RequiresGrad = true;
        var y = Ops.Add(Ops.Mul(x, x), x);
        y.Backward(Tensor.Ones(1));
        Assert.Equal(7f, x.Grad!.ToArray()[0]);
    }
}

internal static class TestExt
{
    public static T Also<T>(this T t, Action<T> a) { a(t); return t; }
}

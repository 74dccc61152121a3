using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Core.Kernels;

using static DeepShrink.Core.Tests.GradAssert;

namespace DeepShrink.Core.Tests;

/// <summary>
/// <see cref="Ops.Circulant"/> and <see cref="Ops.BlockCirculant"/>: gradients by central finite differences
/// in float64 (<see cref="GradCheck"/>), values against a dense <see cref="Ops.Linear"/> with the explicit
/// matrix, and clear errors for bad shapes and signs.
/// </summary>
public class CirculantOpTests
{
    [Theory]
    [InlineData(1, 1, false)]
    [InlineData(3, 2, false)]
    [InlineData(2, 8, true)]
    [InlineData(1, 16, true)]
    [InlineData(64, 8, true)]
    [InlineData(3, 12, true)]
    [InlineData(2, 7, false)]
    public void Circulant_gradients_match_finite_differences(int batch, int n, bool useSigns)
    {
        var rng = new Rng((ulong)(batch * 100 + n));
        var signs = useSigns ? Ops.RandomSigns(n, 7) : null;
        AssertGrad(t => Ops.Circulant(t[0], t[1], signs), Leaf(rng, batch, n), Leaf(rng, n));
    }

    [Theory]
    [InlineData(1, 2, 3, 4, false)]
    [InlineData(3, 3, 2, 8, true)]
    [InlineData(64, 2, 2, 4, true)]
    public void Block_circulant_gradients_match_finite_differences(int batch, int p, int q, int b, bool useSigns)
    {
        var rng = new Rng((ulong)(batch * 1000 + p * 100 + q * 10 + b));
        var signs = useSigns ? Ops.RandomSigns(q * b, 11) : null;
        AssertGrad(t => Ops.BlockCirculant(t[0], t[1], signs), Leaf(rng, batch, q * b), Leaf(rng, p, q, b));
    }

    [Fact]
    public void Gradient_flows_to_one_input_only_when_the_other_is_constant()
    {
        var rng = new Rng(5);
        var x = Tensor.Uniform(rng, -1f, 1f, 4, 16);
        AssertGrad(t => Ops.Circulant(x, t[0]), Leaf(rng, 16));
        var c = Tensor.Uniform(rng, -1f, 1f, 16);
        AssertGrad(t => Ops.Circulant(t[0], c), Leaf(rng, 4, 16));
    }

    [Fact]
    public void Values_equal_a_dense_linear_layer_with_the_explicit_matrix()
    {
        var rng = new Rng(6);
        var shape = new BlockCirculantShape(2, 3, 16);
        var x = Tensor.Uniform(rng, -1f, 1f, 5, shape.In);
        var blocks = Tensor.Uniform(rng, -1f, 1f, 2, 3, 16);
        var signs = Ops.RandomSigns(shape.In, 3);
        var dense = BlockCirculantReference.Dense(shape, blocks.ToArray(), signs.ToArray()).Select(v => (float)v).ToArray();
        var expected = Ops.Linear(x, new Tensor(dense, shape.Out, shape.In), null).ToArray();
        var actual = Ops.BlockCirculant(x, blocks, signs).ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f, $"y[{i}]: {actual[i]} vs {expected[i]}");
    }

    [Fact]
    public void Gradient_descent_recovers_a_block_circulant_teacher()
    {
        // Least squares in the defining vectors is convex: plain gradient descent through the op must find the teacher.
        var rng = new Rng(8);
        var teacher = Tensor.Uniform(rng, -1f, 1f, 2, 4, 8);
        var signs = Ops.RandomSigns(32, 4);
        var x = Tensor.Uniform(rng, -1f, 1f, 64, 32);
        Tensor target;
        using (Engine.NoGrad()) target = Ops.BlockCirculant(x, teacher, signs);
        var w = new Tensor(2, 4, 8) { RequiresGrad = true };
        float first = 0, last = 0;
        for (int step = 0; step < 300; step++)
        {
            var loss = Ops.Mse(Ops.BlockCirculant(x, w, signs), target);
            if (step == 0) first = loss.Item();
            last = loss.Item();
            loss.Backward();
            var ws = w.Span; var gs = w.Grad!.Span;
            for (int i = 0; i < ws.Length; i++) ws[i] -= 1f * gs[i];
            w.Grad = null;
        }
        Assert.True(last < 1e-6f * first, $"loss {first:G3} -> {last:G3}");
        var wt = teacher.ToArray(); var wl = w.ToArray();
        for (int i = 0; i < wt.Length; i++) Assert.True(Math.Abs(wt[i] - wl[i]) < 1e-3f, $"w[{i}] {wl[i]} vs teacher {wt[i]}");
    }

    [Fact]
    public void Random_signs_are_plus_minus_one_reproducible_and_mixed()
    {
        var a = Ops.RandomSigns(256, 42).ToArray();
        Assert.Equal(a, Ops.RandomSigns(256, 42).ToArray());
        Assert.NotEqual(a, Ops.RandomSigns(256, 43).ToArray());
        Assert.All(a, s => Assert.True(s is 1f or -1f));
        int plus = a.Count(s => s > 0);
        Assert.InRange(plus, 96, 160);
    }

    [Fact]
    public void Bad_inputs_give_clear_errors()
    {
        var x = new Tensor(2, 12);
        Assert.Contains("not supported by the FFT", Assert.Throws<ArgumentException>(() => Ops.Circulant(new Tensor(2, 0), new Tensor(0))).Message);
        Assert.Contains("input must be [batch, 16]", Assert.Throws<ArgumentException>(() => Ops.Circulant(x, new Tensor(16))).Message);
        var x16 = new Tensor(2, 16);
        Assert.Contains("signs must be +1 or -1", Assert.Throws<ArgumentException>(() => Ops.Circulant(x16, new Tensor(16), Tensor.Full(0.5f, 16))).Message);
        Assert.Contains("signs must be [16]", Assert.Throws<ArgumentException>(() => Ops.Circulant(x16, new Tensor(16), Tensor.Ones(8))).Message);
        Assert.Contains("blocks must be 3-D", Assert.Throws<ArgumentException>(() => Ops.BlockCirculant(x16, new Tensor(4, 4))).Message);
    }
}

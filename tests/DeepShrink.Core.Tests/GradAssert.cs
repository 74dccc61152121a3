using DeepShrink.Core.Autograd;

namespace DeepShrink.Core.Tests;

/// <summary>Shared helpers of the gradient tests: random leaves and a finite-difference assertion.</summary>
internal static class GradAssert
{
    /// <summary>A leaf uniform in [-1, 1) that requires a gradient.</summary>
    public static Tensor Leaf(Rng rng, params int[] shape)
    {
        var t = Tensor.Uniform(rng, -1f, 1f, shape);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>Asserts that the analytic gradients of <paramref name="f"/> match central finite differences (<see cref="GradCheck"/>).</summary>
    public static void AssertGrad(Func<Tensor[], Tensor> f, params Tensor[] inputs)
    {
        var r = GradCheck.Check(f, inputs);
        Assert.True(r.Ok, $"gradient mismatch (ratio {r.WorstRatio:G3}) at {r.Where}");
    }
}

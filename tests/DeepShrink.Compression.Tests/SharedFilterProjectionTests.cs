using DeepShrink.Compression.Structured;
using DeepShrink.Core;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Compression.Tests;

/// <summary>
/// <see cref="SharedFilterProjection"/>: expanded filters project back onto themselves, and the projection of a
/// trained weight leaves a residual orthogonal to every expanded weight, so no other stored filters come closer.
/// </summary>
public class SharedFilterProjectionTests
{
    private static double Dot(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }

    private static float[] Minus(float[] a, float[] b) => a.Select((v, i) => v - b[i]).ToArray();

    [Theory]
    [InlineData(FilterGroup.Rotations4, false)]
    [InlineData(FilterGroup.Dihedral8, false)]
    [InlineData(FilterGroup.Dihedral8, true)]
    public void Orbit_projection_is_a_least_squares_inverse_of_the_expansion(FilterGroup group, bool inputIsOrbits)
    {
        var rng = new Rng(50 + (ulong)group);
        int order = FilterGroupTransforms.Order(group), inC = inputIsOrbits ? 2 * order : 3;
        var f = Tensor.Uniform(rng, -1f, 1f, 2, inC, 3, 3);
        // Fixed point: the expansion of orbit filters projects back onto them exactly.
        Assert.Equal(f.ToArray(), SharedFilterProjection.ProjectOrbits(Ops.GroupExpandFilters(f, group, inputIsOrbits), group, inputIsOrbits).ToArray());
        // A trained weight: the residual is orthogonal to every expanded weight (random ones here) ...
        var w = Tensor.Uniform(rng, -1f, 1f, 2 * order, inC, 3, 3).ToArray();
        var p = SharedFilterProjection.ProjectOrbits(new Tensor(w, 2 * order, inC, 3, 3), group, inputIsOrbits);
        var residual = Minus(w, Ops.GroupExpandFilters(p, group, inputIsOrbits).ToArray());
        double best = Math.Sqrt(Dot(residual, residual));
        Assert.True(best > 0.1, "a random weight is not orbit-shared, so the residual must not vanish");
        for (int t = 0; t < 5; t++)
        {
            var e = Ops.GroupExpandFilters(Tensor.Uniform(rng, -1f, 1f, 2, inC, 3, 3), group, inputIsOrbits).ToArray();
            Assert.True(Math.Abs(Dot(residual, e)) <= 1e-5 * best * Math.Sqrt(Dot(e, e)), "residual not orthogonal to the expansions");
        }
        // ... so perturbed orbit filters are further away.
        for (int t = 0; t < 5; t++)
        {
            var q = p.ToArray();
            for (int i = 0; i < q.Length; i++) q[i] += 0.01f * (2f * rng.NextFloat() - 1f);
            var r = Minus(w, Ops.GroupExpandFilters(new Tensor(q, p.Shape), group, inputIsOrbits).ToArray());
            Assert.True(Math.Sqrt(Dot(r, r)) > best);
        }
    }

    [Fact]
    public void Orbit_bias_is_the_mean_of_each_orbit()
    {
        var b = new Tensor(new float[] { 1, 2, 3, 6, -4, 0, 0, 0 }, 8);
        Assert.Equal(new float[] { 3, -1 }, SharedFilterProjection.ProjectOrbitBias(b, FilterGroup.Rotations4).ToArray());
        var o = Tensor.Uniform(new Rng(51), -1f, 1f, 3);
        Assert.Equal(o.ToArray(), SharedFilterProjection.ProjectOrbitBias(Ops.GroupExpandBias(o, FilterGroup.Dihedral8), FilterGroup.Dihedral8).ToArray());
    }

    [Fact]
    public void Negation_projection_inverts_the_crelu_expansion_and_halves_the_difference()
    {
        var rng = new Rng(52);
        var w = Tensor.Uniform(rng, -1f, 1f, 3, 2, 3, 3);
        Assert.Equal(w.ToArray(), SharedFilterProjection.ProjectNegation(Ops.NegationExpand(w)).ToArray());
        var ab = new Tensor(new float[] { 1, 4, -3, 2 }, 4);
        Assert.Equal(new float[] { 2, 1 }, SharedFilterProjection.ProjectNegation(ab).ToArray());
    }

    [Fact]
    public void Bad_shapes_give_clear_errors()
    {
        Assert.Contains("orbits x 4", Assert.Throws<ArgumentException>(() => SharedFilterProjection.ProjectOrbits(new Tensor(6, 1, 3, 3), FilterGroup.Rotations4)).Message);
        Assert.Contains("first axis must be even", Assert.Throws<ArgumentException>(() => SharedFilterProjection.ProjectNegation(new Tensor(3, 2))).Message);
        Assert.Contains("bias must be [orbits x 8]", Assert.Throws<ArgumentException>(() => SharedFilterProjection.ProjectOrbitBias(new Tensor(4), FilterGroup.Dihedral8)).Message);
    }
}

using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Core.Kernels;

using static DeepShrink.Core.Tests.GradAssert;

namespace DeepShrink.Core.Tests;

/// <summary>
/// Transferred filters: <see cref="Ops.GroupExpandFilters"/> (p4 / p4m orbit filters) and
/// <see cref="Ops.NegationExpand"/> (CReLU). Equivariance is checked exactly: inputs, weights and biases
/// are small integers, so every convolution sum is exact in float32 whatever its order.
/// </summary>
public class TransferFilterTests
{
    private static Tensor Integers(Rng rng, int max, params int[] shape)
    {
        var t = new Tensor(shape);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = rng.NextInt(2 * max + 1) - max;
        return t;
    }

    /// <summary>Counter-clockwise quarter turn of every H x H map of an NCHW tensor, written independently of the op: out[y, x] = in[x, H-1-y].</summary>
    private static float[] Rot90(float[] a, int planes, int h)
    {
        var o = new float[a.Length];
        for (int p = 0; p < planes; p++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < h; x++) o[(p * h + y) * h + x] = a[(p * h + x) * h + h - 1 - y];
        return o;
    }

    /// <summary>Left-right mirror of every H x H map: out[y, x] = in[y, H-1-x].</summary>
    private static float[] FlipLr(float[] a, int planes, int h)
    {
        var o = new float[a.Length];
        for (int p = 0; p < planes; p++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < h; x++) o[(p * h + y) * h + x] = a[(p * h + y) * h + h - 1 - x];
        return o;
    }

    private static float[] Transform(float[] a, int planes, int h, bool flip, int quarterTurns)
    {
        var r = flip ? FlipLr(a, planes, h) : a;
        for (int t = 0; t < quarterTurns; t++) r = Rot90(r, planes, h);
        return r;
    }

    /// <summary>Moves channel (c0, h) to (c0, u h) for orbit-grouped channels: the input permutation that goes with a spatial transform u.</summary>
    private static float[] PermuteOrbits(float[] a, int channels, int order, int hw, int u)
    {
        var o = new float[a.Length];
        for (int c = 0; c < channels; c++)
        {
            int dst = c / order * order + FilterGroupTransforms.Compose(u, c % order);
            Array.Copy(a, c * hw, o, dst * hw, hw);
        }
        return o;
    }

    /// <summary>Asserts y'[o, g] = T_u(y[o, u^-1 g]) exactly for every orbit o and element g.</summary>
    private static void AssertEquivariant(float[] y, float[] yTransformed, int orbits, int order, int h, int u)
    {
        int hw = h * h;
        var expected = Transform(y, orbits * order, h, (u >> 2) == 1, u & 3);
        var permuted = PermuteOrbits(expected, orbits * order, order, hw, u);
        Assert.Equal(permuted, yTransformed);
    }

    [Theory]
    [InlineData(FilterGroup.Rotations4, 3)]
    [InlineData(FilterGroup.Dihedral8, 3)]
    [InlineData(FilterGroup.Dihedral8, 5)]
    public void Lifting_layer_is_exactly_equivariant(FilterGroup group, int k)
    {
        var rng = new Rng((ulong)(17 + k + (int)group));
        const int h = 9, c = 2, orbits = 3;
        int order = FilterGroupTransforms.Order(group);
        var w = Integers(rng, 2, orbits, c, k, k);
        var b = Integers(rng, 3, orbits);
        var x = Integers(rng, 3, 1, c, h, h);
        Tensor Layer(Tensor input) => Ops.Conv2d(input, Ops.GroupExpandFilters(w, group), Ops.GroupExpandBias(b, group), padding: k / 2);
        var y = Layer(x).ToArray();
        // Orbit outputs are not all equal (the check below is not vacuous).
        Assert.NotEqual(y.AsSpan(0, h * h).ToArray(), y.AsSpan(h * h, h * h).ToArray());
        foreach (int u in order == 4 ? new[] { 1, 2, 3 } : new[] { 1, 4, 5, 7 })
        {
            var xu = new Tensor(Transform(x.ToArray(), c, h, (u >> 2) == 1, u & 3), 1, c, h, h);
            AssertEquivariant(y, Layer(xu).ToArray(), orbits, order, h, u);
        }
    }

    [Theory]
    [InlineData(FilterGroup.Rotations4)]
    [InlineData(FilterGroup.Dihedral8)]
    public void Two_group_layers_compose_to_an_equivariant_network(FilterGroup group)
    {
        var rng = new Rng(29 + (ulong)group);
        const int h = 7, c = 1, orbits1 = 2, orbits2 = 2;
        int order = FilterGroupTransforms.Order(group);
        var w1 = Integers(rng, 1, orbits1, c, 3, 3); var b1 = Integers(rng, 2, orbits1);
        var w2 = Integers(rng, 1, orbits2, orbits1 * order, 3, 3); var b2 = Integers(rng, 2, orbits2);
        var x = Integers(rng, 2, 1, c, h, h);
        Tensor Net(Tensor input)
        {
            var z = Ops.Relu(Ops.Conv2d(input, Ops.GroupExpandFilters(w1, group), Ops.GroupExpandBias(b1, group), padding: 1));
            return Ops.Conv2d(z, Ops.GroupExpandFilters(w2, group, inputIsOrbits: true), Ops.GroupExpandBias(b2, group), padding: 1);
        }
        var y = Net(x).ToArray();
        foreach (int u in order == 4 ? new[] { 1, 3 } : new[] { 1, 4, 6 })
        {
            var xu = new Tensor(Transform(x.ToArray(), c, h, (u >> 2) == 1, u & 3), 1, c, h, h);
            AssertEquivariant(y, Net(xu).ToArray(), orbits2, order, h, u);
        }
    }

    [Fact]
    public void Expanded_filters_are_the_rotations_and_mirrors_of_each_orbit_filter()
    {
        var rng = new Rng(31);
        var w = Integers(rng, 9, 2, 3, 3, 3);
        var full = Ops.GroupExpandFilters(w, FilterGroup.Dihedral8).ToArray();
        var ws = w.ToArray();
        for (int o = 0; o < 2; o++)
            for (int g = 0; g < 8; g++)
            {
                var expected = Transform(ws.AsSpan(o * 27, 27).ToArray(), 3, 3, (g >> 2) == 1, g & 3);
                Assert.Equal(expected, full.AsSpan((o * 8 + g) * 27, 27).ToArray());
            }
    }

    [Fact]
    public void Group_law_has_identity_inverses_and_the_flip_relation()
    {
        for (int a = 0; a < 8; a++)
        {
            Assert.Equal(a, FilterGroupTransforms.Compose(a, 0));
            Assert.Equal(0, FilterGroupTransforms.Compose(a, FilterGroupTransforms.Inverse(a)));
            for (int b = 0; b < 8; b++)
                for (int c = 0; c < 8; c++)
                    Assert.Equal(FilterGroupTransforms.Compose(FilterGroupTransforms.Compose(a, b), c), FilterGroupTransforms.Compose(a, FilterGroupTransforms.Compose(b, c)));
        }
        Assert.Equal(FilterGroupTransforms.Compose(3, 4), FilterGroupTransforms.Compose(4, 1)); // R^-1 F = F R
    }

    [Theory]
    [InlineData(FilterGroup.Rotations4, false)]
    [InlineData(FilterGroup.Dihedral8, false)]
    [InlineData(FilterGroup.Dihedral8, true)]
    public void Group_expansion_gradients_match_finite_differences(FilterGroup group, bool inputIsOrbits)
    {
        var rng = new Rng(37 + (ulong)group);
        int order = FilterGroupTransforms.Order(group);
        int inC = inputIsOrbits ? order : 2;
        AssertGrad(t => Ops.GroupExpandFilters(t[0], group, inputIsOrbits), Leaf(rng, 2, inC, 3, 3));
        AssertGrad(t => Ops.GroupExpandBias(t[0], group), Leaf(rng, 3));
        // Through a convolution, as a layer uses it.
        var x = Tensor.Uniform(rng, -1f, 1f, 1, inC, 5, 5);
        AssertGrad(t => Ops.Conv2d(x, Ops.GroupExpandFilters(t[0], group, inputIsOrbits), Ops.GroupExpandBias(t[1], group), padding: 1),
            Leaf(rng, 1, inC, 3, 3), Leaf(rng, 1));
    }

    [Fact]
    public void Crelu_expansion_is_one_convolution_equal_to_concat_of_conv_and_its_negation()
    {
        var rng = new Rng(41);
        var x = Tensor.Uniform(rng, -1f, 1f, 2, 3, 8, 8);
        var w = Tensor.Uniform(rng, -1f, 1f, 4, 3, 3, 3);
        var b = Tensor.Uniform(rng, -1f, 1f, 4);
        var half = Ops.Conv2d(x, w, b, padding: 1);
        var expected = Ops.Relu(Ops.Concat(1, half, Ops.Neg(half))).ToArray();
        var actual = Ops.Relu(Ops.Conv2d(x, Ops.NegationExpand(w), Ops.NegationExpand(b), padding: 1)).ToArray();
        Assert.Equal(expected, actual); // negation is exact and the sums run in the same order
        Assert.Equal(new[] { 8, 3, 3, 3 }, Ops.NegationExpand(w).Shape);
    }

    [Fact]
    public void Crelu_expansion_gradients_match_finite_differences()
    {
        var rng = new Rng(43);
        AssertGrad(t => Ops.NegationExpand(t[0]), Leaf(rng, 3, 2, 3, 3));
        var x = Tensor.Uniform(rng, -1f, 1f, 1, 2, 5, 5);
        AssertGrad(t => Ops.Conv2d(x, Ops.NegationExpand(t[0]), Ops.NegationExpand(t[1]), padding: 1), Leaf(rng, 2, 2, 3, 3), Leaf(rng, 2));
    }

    [Fact]
    public void Bad_filter_shapes_give_clear_errors()
    {
        Assert.Contains("square kernels", Assert.Throws<ArgumentException>(() => Ops.GroupExpandFilters(new Tensor(2, 3, 3, 5), FilterGroup.Rotations4)).Message);
        Assert.Contains("not whole orbits", Assert.Throws<ArgumentException>(() => Ops.GroupExpandFilters(new Tensor(2, 6, 3, 3), FilterGroup.Rotations4, inputIsOrbits: true)).Message);
        Assert.Contains("bias must be 1-D", Assert.Throws<ArgumentException>(() => Ops.GroupExpandBias(new Tensor(2, 2), FilterGroup.Rotations4)).Message);
    }
}

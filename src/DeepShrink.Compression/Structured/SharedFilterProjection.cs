using DeepShrink.Core;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Compression.Structured;

/// <summary>
/// Converts a trained convolution into transferred-filter form: the stored filters whose expansion
/// (<see cref="Ops.GroupExpandFilters"/>, <see cref="Ops.NegationExpand"/>) is nearest to the trained weight
/// in the Frobenius norm, the starting point for fine-tuning a p4 / p4m or CReLU layer.
/// </summary>
/// <remarks>
/// Each expansion is a stack of orthogonal maps (permutations for the group elements, +-identity for
/// CReLU), so the least-squares solution is the mean of the back-transformed blocks: for a group of
/// order G, f_o = (1/G) sum_g T_g^-1 W[o G + g] (Cohen and Welling 2016's filter transformation inverted);
/// for CReLU, W = (A - B) / 2 from the trained [A; B] (Shang et al. 2016). Filters are grouped in the
/// order they come: trained filters o G .. o G + G - 1 form orbit o.
/// </remarks>
public static class SharedFilterProjection
{
    /// <summary>
    /// Orbit filters [O, C, k, k] nearest to a trained weight [O G, C, k, k] under <paramref name="group"/>
    /// (with <paramref name="inputIsOrbits"/> as in <see cref="Ops.GroupExpandFilters"/>).
    /// </summary>
    public static Tensor ProjectOrbits(Tensor weight, FilterGroup group, bool inputIsOrbits = false)
    {
        int order = FilterGroupTransforms.Order(group);
        if (weight.Rank != 4 || weight.Shape[2] != weight.Shape[3] || weight.Shape[0] % order != 0)
            throw new ArgumentException($"orbit projection: weight must be [orbits x {order}, inChannels, k, k] with square kernels, got {ShapeUtil.Format(weight.Shape)}");
        int orbits = weight.Shape[0] / order;
        var map = FilterGroupTransforms.ExpansionMap(orbits, weight.Shape[1], weight.Shape[2], group, inputIsOrbits);
        return MeanOver(weight.ToArray(), map, orbits * weight.Shape[1] * weight.Shape[2] * weight.Shape[3], order,
            [orbits, weight.Shape[1], weight.Shape[2], weight.Shape[3]]);
    }

    /// <summary>One bias per orbit [O] nearest to a trained bias [O G]: the mean of each orbit's biases.</summary>
    public static Tensor ProjectOrbitBias(Tensor bias, FilterGroup group)
    {
        int order = FilterGroupTransforms.Order(group);
        if (bias.Rank != 1 || bias.Shape[0] % order != 0)
            throw new ArgumentException($"orbit projection: bias must be [orbits x {order}], got {ShapeUtil.Format(bias.Shape)}");
        int orbits = bias.Shape[0] / order;
        var map = new int[bias.Shape[0]];
        for (int i = 0; i < map.Length; i++) map[i] = i / order;
        return MeanOver(bias.ToArray(), map, orbits, order, [orbits]);
    }

    /// <summary>
    /// The half W [O, ...] whose CReLU expansion [W; -W] is nearest to a trained weight or bias [2 O, ...]
    /// split as [A; B]: W = (A - B) / 2.
    /// </summary>
    public static Tensor ProjectNegation(Tensor t)
    {
        if (t.Rank < 1 || t.Shape[0] % 2 != 0)
            throw new ArgumentException($"negation projection: first axis must be even (filters [W; -W]), got {ShapeUtil.Format(t.Shape)}");
        var shape = (int[])t.Shape.Clone();
        shape[0] /= 2;
        int half = t.Size / 2;
        var s = t.ToArray();
        var r = new float[half];
        for (int i = 0; i < half; i++) r[i] = (float)(((double)s[i] - s[half + i]) * 0.5);
        return new Tensor(r, shape);
    }

    /// <summary>r[j] = (1/count) sum over i with map[i] = j of values[i], accumulated in float64.</summary>
    private static Tensor MeanOver(float[] values, int[] map, int size, int count, int[] shape)
    {
        var acc = new double[size];
        for (int i = 0; i < map.Length; i++) acc[map[i]] += values[i];
        var r = new float[size];
        for (int j = 0; j < size; j++) r[j] = (float)(acc[j] / count);
        return new Tensor(r, shape);
    }
}

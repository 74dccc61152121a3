using DeepShrink.Core.Autograd;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Core;

public static partial class Ops
{
    /// <summary>
    /// Full convolution weight [O G, C, k, k] from orbit filters <paramref name="w"/> [O, C, k, k]: filter
    /// o G + g is group element g applied to orbit filter o (G = 4 rotations for p4, 8 with mirror images for
    /// p4m; see <see cref="FilterGroupTransforms"/> for the element order). With
    /// <paramref name="inputIsOrbits"/> the input channels are the orbit outputs of an earlier group layer
    /// and are permuted too. The gradient sums each element's back-transformed gradient into its orbit filter.
    /// </summary>
    /// <remarks>
    /// Cohen and Welling 2016, "Group equivariant convolutional networks" (ICML): with f_g = T_g f, a
    /// convolution of the transformed input T_u x gives y'[o, g] = T_u(y[o, u^-1 g]), so rotating the input
    /// rotates each output map and permutes each orbit's outputs; the layer stores 1/G of the weights.
    /// </remarks>
    public static Tensor GroupExpandFilters(Tensor w, FilterGroup group, bool inputIsOrbits = false)
    {
        if (w.Rank != 4 || w.Shape[2] != w.Shape[3])
            throw new ArgumentException($"GroupExpandFilters: orbit filters must be 4-D [orbits, inChannels, k, k] with square kernels, got {ShapeUtil.Format(w.Shape)}");
        int order = FilterGroupTransforms.Order(group);
        var map = FilterGroupTransforms.ExpansionMap(w.Shape[0], w.Shape[1], w.Shape[2], group, inputIsOrbits);
        return IndexGather("GroupExpandFilters", w, map, [w.Shape[0] * order, w.Shape[1], w.Shape[2], w.Shape[3]]);
    }

    /// <summary>Bias [O G] of a group-expanded layer from one bias per orbit <paramref name="b"/> [O]: each value repeated G times.</summary>
    public static Tensor GroupExpandBias(Tensor b, FilterGroup group)
    {
        if (b.Rank != 1) throw new ArgumentException($"GroupExpandBias: bias must be 1-D [orbits], got {ShapeUtil.Format(b.Shape)}");
        int order = FilterGroupTransforms.Order(group);
        var map = new int[b.Shape[0] * order];
        for (int i = 0; i < map.Length; i++) map[i] = i / order;
        return IndexGather("GroupExpandBias", b, map, [map.Length]);
    }

    /// <summary>
    /// [t; -t] along axis 0: the weight (and bias) of a CReLU convolution, which learns half the filters and
    /// uses their negations for the other half.
    /// </summary>
    /// <remarks>
    /// Shang et al. 2016, "Understanding and improving convolutional neural networks via concatenated
    /// rectified linear units" (ICML): CReLU(x) = [ReLU(conv(x, W) + b), ReLU(-conv(x, W) - b)], which equals
    /// ReLU(conv(x, [W; -W]) + [b; -b]), one convolution with the expanded weight.
    /// </remarks>
    public static Tensor NegationExpand(Tensor t)
    {
        if (t.Rank < 1) throw new ArgumentException("NegationExpand: need at least one axis");
        return Concat(0, t, Neg(t));
    }

    /// <summary>
    /// The full weight (or bias) of a shared-filter convolution from its stored filters: y[i] = sign[i] x[map[i]]
    /// with the map of <see cref="SharedFilterMap"/> (negation / p4 / p4m, optionally reordered). The gradient
    /// scatters back with the same signs, so every stored filter learns from all of its copies.
    /// </summary>
    public static Tensor SharedFilterExpand(Tensor x, SharedFilterMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        int need = 0;
        foreach (int i in map.Map) need = Math.Max(need, i + 1);
        if (x.Size < need) throw new ArgumentException($"SharedFilterExpand: stored tensor {ShapeUtil.Format(x.Shape)} is smaller than the map needs ({need} elements)");
        var xs = x.ContiguousData().Span;
        var y = Uninitialized(map.Shape); var ys = y.Span;
        map.Apply(xs, ys);
        if (!Engine.WillRecord(x)) return y;
        return Engine.Record(y, new LambdaNode("SharedFilterExpand", g =>
        {
            var gs = g.ContiguousData().Span;
            var dx = GradResult(x.Shape); var dxs = dx.Span;
            dxs.Clear();
            for (int i = 0; i < map.Map.Length; i++) dxs[map.Map[i]] += map.Sign[i] * gs[i];
            return new[] { dx };
        }, x));
    }

    /// <summary>y[i] = x[map[i]] (a view-free copy); the gradient scatters back with +=.</summary>
    private static Tensor IndexGather(string name, Tensor x, int[] map, int[] shape)
    {
        var xs = x.ContiguousData().Span;
        var y = Uninitialized(shape); var ys = y.Span;
        for (int i = 0; i < map.Length; i++) ys[i] = xs[map[i]];
        if (!Engine.WillRecord(x)) return y;
        return Engine.Record(y, new LambdaNode(name, g =>
        {
            var gs = g.ContiguousData().Span;
            var dx = GradResult(x.Shape); var dxs = dx.Span;
            dxs.Clear();
            for (int i = 0; i < map.Length; i++) dxs[map[i]] += gs[i];
            return new[] { dx };
        }, x));
    }
}

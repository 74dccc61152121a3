namespace DeepShrink.Core.Kernels;

/// <summary>How a shared-filter convolution (graph op <c>shared_conv2d</c>) makes its full filter bank from the stored filters.</summary>
public enum FilterSharing
{
    /// <summary>CReLU (Shang et al. 2016): the stored filters and their negations, [W; -W] (2 filters per stored one).</summary>
    Negation,

    /// <summary>p4 (Cohen and Welling 2016): the four 90-degree rotations of each stored filter.</summary>
    P4,

    /// <summary>p4m: the rotations and their mirror images (8 filters per stored one).</summary>
    P4m,
}

/// <summary>
/// The signed gather that expands the stored filters of a shared-filter convolution into its full weight:
/// full[i] = sign[i] * stored[map[i]]. Training (<see cref="Ops.SharedFilterExpand"/>), the runtime and the ONNX
/// exporter all expand with this one map, so they compute the same weights bit for bit.
/// </summary>
/// <remarks>
/// Expanded filter order before <c>order</c>: for <see cref="FilterSharing.Negation"/> [W; -W] (filter o &lt; S is
/// W[o], filter S + o is -W[o]); for p4 / p4m filter o G + g is group element g applied to stored filter o
/// (<see cref="FilterGroupTransforms.ExpansionMap(int, int, int, FilterGroup, int[])"/>, plain input channels unless an input order is given). With an <c>order</c> (a permutation of
/// the S G expanded filters) output channel o is expanded filter order[o]: it lets a conversion of a trained layer
/// pair each trained filter with the expanded filter nearest to it without moving the layer's output channels.
/// </remarks>
public sealed class SharedFilterMap
{
    private SharedFilterMap(int[] map, float[] sign, int[] shape) { Map = map; Sign = sign; Shape = shape; }

    /// <summary>Source index in the stored tensor of each expanded element.</summary>
    public int[] Map { get; }
    /// <summary>+1 or -1 for each expanded element.</summary>
    public float[] Sign { get; }
    /// <summary>Shape of the expanded tensor.</summary>
    public int[] Shape { get; }

    /// <summary>Filters per stored filter: 2 (negation), 4 (p4) or 8 (p4m).</summary>
    public static int Multiplicity(FilterSharing s) => s switch
    {
        FilterSharing.Negation => 2,
        FilterSharing.P4 => 4,
        FilterSharing.P4m => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(s), s, "unknown filter sharing"),
    };

    /// <summary>The graph attribute text of a sharing: negation, p4, p4m.</summary>
    public static string Name(FilterSharing s) => s switch { FilterSharing.Negation => "negation", FilterSharing.P4 => "p4", _ => "p4m" };

    /// <summary>Parses negation / p4 / p4m; <see cref="FormatException"/> otherwise.</summary>
    public static FilterSharing Parse(string? text) => text switch
    {
        "negation" => FilterSharing.Negation,
        "p4" => FilterSharing.P4,
        "p4m" => FilterSharing.P4m,
        _ => throw new FormatException($"filter sharing must be negation, p4 or p4m, got '{text}'"),
    };

    /// <summary>
    /// The map of the full weight [S G, C, k, k] from stored filters [S, C, k, k]. With <paramref name="inputOrder"/>
    /// (p4 / p4m only) the input channels are the orbit outputs of an earlier layer of the same group, in its
    /// <c>order</c>: filter g also permutes each input orbit by g (a group convolution, Cohen and Welling 2016;
    /// <see cref="FilterGroupTransforms.ExpansionMap(int, int, int, FilterGroup, int[])"/>).
    /// </summary>
    public static SharedFilterMap Weight(int stored, int inChannels, int k, FilterSharing sharing, int[]? order, int[]? inputOrder = null)
    {
        if (inputOrder is not null && sharing == FilterSharing.Negation) throw new ArgumentException("an input order needs a rotation group (p4 or p4m), not negation");
        if (stored < 1 || inChannels < 1 || k < 1) throw new ArgumentException($"shared filters need positive sizes, got {stored} filters x {inChannels} channels x {k}x{k}");
        int per = inChannels * k * k, g = Multiplicity(sharing), total = stored * g;
        int[] baseMap; float[] baseSign;
        if (sharing == FilterSharing.Negation)
        {
            baseMap = new int[total * per]; baseSign = new float[total * per];
            for (int i = 0; i < baseMap.Length; i++) { baseMap[i] = i % (stored * per); baseSign[i] = i < stored * per ? 1f : -1f; }
        }
        else
        {
            baseMap = FilterGroupTransforms.ExpansionMap(stored, inChannels, k, sharing == FilterSharing.P4 ? FilterGroup.Rotations4 : FilterGroup.Dihedral8, inputOrder);
            baseSign = new float[baseMap.Length];
            Array.Fill(baseSign, 1f);
        }
        return Permuted(baseMap, baseSign, per, total, order, [total, inChannels, k, k]);
    }

    /// <summary>The map of the full bias [S G] from stored biases [S] (negated with the filters for CReLU).</summary>
    public static SharedFilterMap Bias(int stored, FilterSharing sharing, int[]? order)
    {
        int g = Multiplicity(sharing), total = stored * g;
        var map = new int[total]; var sign = new float[total];
        for (int i = 0; i < total; i++)
        {
            bool neg = sharing == FilterSharing.Negation;
            map[i] = neg ? i % stored : i / g;
            sign[i] = neg && i >= stored ? -1f : 1f;
        }
        return Permuted(map, sign, 1, total, order, [total]);
    }

    /// <summary>Checks that <paramref name="order"/> is a permutation of 0 .. <paramref name="count"/> - 1.</summary>
    public static void CheckOrder(int[] order, int count)
    {
        if (order.Length != count) throw new FormatException($"order has {order.Length} entries, expected {count} (one per expanded filter)");
        var seen = new bool[count];
        foreach (int o in order)
        {
            if (o < 0 || o >= count || seen[o]) throw new FormatException($"order must be a permutation of 0..{count - 1}, found {o} out of range or twice");
            seen[o] = true;
        }
    }

    /// <summary>full[i] = sign[i] stored[map[i]].</summary>
    public void Apply(ReadOnlySpan<float> stored, Span<float> full)
    {
        if (full.Length != Map.Length) throw new ArgumentException($"expanded tensor has {full.Length} elements, expected {Map.Length}");
        for (int i = 0; i < Map.Length; i++) full[i] = Sign[i] * stored[Map[i]];
    }

    /// <summary>The expanded tensor as a new array.</summary>
    public float[] Apply(ReadOnlySpan<float> stored)
    {
        var r = new float[Map.Length];
        Apply(stored, r);
        return r;
    }

    private static SharedFilterMap Permuted(int[] map, float[] sign, int per, int total, int[]? order, int[] shape)
    {
        if (order is null) return new SharedFilterMap(map, sign, shape);
        CheckOrder(order, total);
        var m = new int[map.Length]; var s = new float[map.Length];
        for (int o = 0; o < total; o++)
        {
            Array.Copy(map, order[o] * per, m, o * per, per);
            Array.Copy(sign, order[o] * per, s, o * per, per);
        }
        return new SharedFilterMap(m, s, shape);
    }
}

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Index maps that apply the elements of a <see cref="FilterGroup"/> to square filters, and the group law,
/// used by <see cref="Ops.GroupExpandFilters"/>.
/// </summary>
/// <remarks>
/// Element e = 4 s + r (s in {0, 1}, r in {0..3}) is T_e = R^r F^s: first the left-right flip F when s = 1,
/// then r quarter turns R. On a k x k array, R(a)[y, x] = a[x, k - 1 - y] (counter-clockwise, as numpy's rot90)
/// and F(a)[y, x] = a[y, k - 1 - x]. The group law is (s1, r1)(s2, r2) = (s1 xor s2, r1 + (-1)^s1 r2 mod 4),
/// since F R = R^-1 F.
/// </remarks>
public static class FilterGroupTransforms
{
    /// <summary>Number of elements: 4 for p4, 8 for p4m.</summary>
    public static int Order(FilterGroup group) => group switch
    {
        FilterGroup.Rotations4 => 4,
        FilterGroup.Dihedral8 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(group), group, "unknown filter group"),
    };

    /// <summary>The product a b of two elements (apply b, then a).</summary>
    public static int Compose(int a, int b)
    {
        int s1 = a >> 2, r1 = a & 3, s2 = b >> 2, r2 = b & 3;
        int r = (r1 + (s1 == 0 ? r2 : 4 - r2)) & 3;
        return ((s1 ^ s2) << 2) | r;
    }

    /// <summary>The inverse element: R^-r for a rotation, the element itself for a reflection.</summary>
    public static int Inverse(int e) => (e >> 2) == 0 ? (4 - (e & 3)) & 3 : e;

    /// <summary>
    /// source[y k + x] = the index in a k x k array a whose value T_e(a) holds at (y, x).
    /// </summary>
    public static int[] SpatialSource(int k, int element)
    {
        if (k < 1) throw new ArgumentException($"filter size must be >= 1, got {k}");
        if (element is < 0 or > 7) throw new ArgumentOutOfRangeException(nameof(element), element, "group element must be in 0..7");
        var idx = new int[k * k];
        for (int i = 0; i < idx.Length; i++) idx[i] = i;
        var tmp = new int[k * k];
        if ((element >> 2) == 1)
        {
            for (int y = 0; y < k; y++) for (int x = 0; x < k; x++) tmp[y * k + x] = idx[y * k + k - 1 - x];
            (idx, tmp) = (tmp, idx);
        }
        for (int t = 0; t < (element & 3); t++)
        {
            for (int y = 0; y < k; y++) for (int x = 0; x < k; x++) tmp[y * k + x] = idx[x * k + k - 1 - y];
            (idx, tmp) = (tmp, idx);
        }
        return idx;
    }

    /// <summary>
    /// Gather map of the full weight [orbits G, inChannels, k, k] from orbit filters [orbits, inChannels, k, k]:
    /// full[o G + g, c, y, x] = orbit[o, c', source], with source = <see cref="SpatialSource"/>(k, g)[y k + x] and
    /// c' = c for a plain input, or, when <paramref name="inputIsOrbits"/> (channels grouped as c = c0 G + h by
    /// an earlier group layer), c' = c0 G + g^-1 h: the group also permutes the input's orbit axis (Cohen and
    /// Welling's filter transformation f_g(h, x) = f(g^-1 h, g^-1 x)).
    /// </summary>
    public static int[] ExpansionMap(int orbits, int inChannels, int k, FilterGroup group, bool inputIsOrbits)
    {
        int order = Order(group);
        if (!inputIsOrbits) return ExpansionMap(orbits, inChannels, k, group, null);
        if (inChannels % order != 0)
            throw new ArgumentException($"input channels {inChannels} are not whole orbits of the group (order {order})");
        var identity = new int[inChannels];
        for (int c = 0; c < inChannels; c++) identity[c] = c;
        return ExpansionMap(orbits, inChannels, k, group, identity);
    }

    /// <summary>
    /// <see cref="ExpansionMap(int, int, int, FilterGroup, bool)"/> with the input's orbit channels in any order:
    /// input channel c carries element <c>inputOrder[c] mod G</c> of input orbit <c>inputOrder[c] / G</c> (the
    /// <c>order</c> of the group layer that computed it: its output channel c is its expanded filter inputOrder[c]),
    /// and filter g reads, at channel c = (orbit s, element h), the stored channel that carries (s, g^-1 h).
    /// Null: plain input channels (no permutation).
    /// </summary>
    public static int[] ExpansionMap(int orbits, int inChannels, int k, FilterGroup group, int[]? inputOrder)
    {
        int order = Order(group), kk = k * k;
        if (orbits < 1 || inChannels < 1) throw new ArgumentException($"filter bank must have at least one orbit and one input channel, got {orbits} and {inChannels}");
        int[]? channelOf = null;   // channel carrying (orbit s, element h) at s G + h
        if (inputOrder is not null)
        {
            if (inChannels % order != 0)
                throw new ArgumentException($"input channels {inChannels} are not whole orbits of the group (order {order})");
            if (inputOrder.Length != inChannels) throw new ArgumentException($"input order has {inputOrder.Length} entries, expected {inChannels} (one per input channel)");
            channelOf = new int[inChannels];
            Array.Fill(channelOf, -1);
            for (int c = 0; c < inChannels; c++)
            {
                int v = inputOrder[c];
                if (v < 0 || v >= inChannels || channelOf[v] >= 0) throw new ArgumentException($"input order must be a permutation of 0..{inChannels - 1}, found {v} out of range or twice");
                channelOf[v] = c;
            }
        }
        var spatial = new int[order][];
        for (int g = 0; g < order; g++) spatial[g] = SpatialSource(k, g);
        var map = new int[checked(orbits * order * inChannels * kk)];
        int i = 0;
        for (int o = 0; o < orbits; o++)
            for (int g = 0; g < order; g++)
            {
                int gInv = Inverse(g);
                for (int c = 0; c < inChannels; c++)
                {
                    int src = c;
                    if (channelOf is not null)
                    {
                        int v = inputOrder![c];
                        src = channelOf[v / order * order + Compose(gInv, v % order)];
                    }
                    int baseIndex = (o * inChannels + src) * kk;
                    for (int p = 0; p < kk; p++) map[i++] = baseIndex + spatial[g][p];
                }
            }
        return map;
    }
}

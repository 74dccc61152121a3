using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Compression.Structured;

/// <summary>
/// Groups the filters of a trained convolution into CReLU pairs or p4 / p4m orbits and projects each group onto
/// one stored filter: the starting point of a <c>shared_conv2d</c> layer that keeps the layer's output channels.
/// </summary>
/// <remarks>
/// Greedy matching: the largest unassigned filter seeds a group; for each further group element g it takes the
/// unassigned filter with the largest cosine similarity to T_g(seed) (for CReLU, T_1 = negation). The expanded
/// filter of element g of group s is then assigned to that filter's output channel (the node's <c>order</c>), and
/// the stored filter is the least-squares fit of its expansion to the trained filters: the mean of
/// sign * (back-transformed) trained values over each stored element's copies (<see cref="SharedFilterProjection"/>
/// generalised to any order). The same fit gives one stored bias per group.
/// </remarks>
public static class FilterMatching
{
    /// <summary>The order (permutation of the S G expanded filters by output channel), stored filters [S, C, k, k] and stored bias [S] (or null).</summary>
    /// <param name="weight">Trained filters [S G, C, k, k].</param>
    /// <param name="bias">Trained bias [S G] or null.</param>
    /// <param name="sharing">Negation, p4 or p4m.</param>
    /// <param name="inputOrder">For a group convolution (p4 / p4m), the order of the layer that computes the input
    /// (<see cref="SharedConvAttrs.InputOrder"/>): the group elements then also permute the input orbits. Null: plain input.</param>
    public static (int[] Order, Tensor Weight, Tensor? Bias) Match(Tensor weight, Tensor? bias, FilterSharing sharing, int[]? inputOrder = null)
    {
        if (weight.Rank != 4 || weight.Shape[2] != weight.Shape[3])
            throw new ArgumentException($"filter matching: weight must be [O, C, k, k] with square kernels, got {ShapeUtil.Format(weight.Shape)}");
        int o = weight.Shape[0], c = weight.Shape[1], k = weight.Shape[2], g = SharedFilterMap.Multiplicity(sharing), per = c * k * k;
        if (o % g != 0) throw new ArgumentException($"filter matching: {o} filters are not whole groups of {g}");
        int stored = o / g;
        var w = weight.ToArray();
        var norms = new double[o];
        for (int f = 0; f < o; f++) norms[f] = Math.Sqrt(Dot(w.AsSpan(f * per, per), w.AsSpan(f * per, per)));
        var one = SharedFilterMap.Weight(1, c, k, sharing, null, inputOrder);   // T_g of a single filter, g = 0..G-1
        // expanded index of (stored s, element e) without reordering
        int Expanded(int s, int e) => sharing == FilterSharing.Negation ? e * stored + s : s * g + e;
        var order = new int[o];
        var free = new bool[o]; Array.Fill(free, true);
        var transformed = new float[per];
        for (int s = 0; s < stored; s++)
        {
            int seed = -1;
            for (int f = 0; f < o; f++) if (free[f] && (seed < 0 || norms[f] > norms[seed])) seed = f;
            free[seed] = false;
            order[seed] = Expanded(s, 0);
            var src = w.AsSpan(seed * per, per);
            for (int e = 1; e < g; e++)
            {
                for (int i = 0; i < per; i++) transformed[i] = one.Sign[e * per + i] * src[one.Map[e * per + i]];
                int best = -1; double bestScore = double.NegativeInfinity;
                for (int f = 0; f < o; f++)
                {
                    if (!free[f]) continue;
                    double score = Dot(transformed, w.AsSpan(f * per, per)) / Math.Max(norms[f], 1e-30);
                    if (score > bestScore) { bestScore = score; best = f; }
                }
                free[best] = false;
                order[best] = Expanded(s, e);
            }
        }
        var map = SharedFilterMap.Weight(stored, c, k, sharing, order, inputOrder);
        var storedW = Fit(w, map, stored * per);
        Tensor? storedB = null;
        if (bias is not null) storedB = new Tensor(Fit(bias.ToArray(), SharedFilterMap.Bias(stored, sharing, order), stored), stored);
        return (order, new Tensor(storedW, stored, c, k, k), storedB);
    }

    /// <summary>Least-squares stored values for full ≈ sign * stored[map]: the mean of sign * full over each stored element's copies.</summary>
    private static float[] Fit(float[] full, SharedFilterMap map, int size)
    {
        var sum = new double[size]; var count = new int[size];
        for (int i = 0; i < map.Map.Length; i++) { sum[map.Map[i]] += map.Sign[i] * (double)full[i]; count[map.Map[i]]++; }
        var r = new float[size];
        for (int j = 0; j < size; j++) r[j] = count[j] == 0 ? 0f : (float)(sum[j] / count[j]);
        return r;
    }

    private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }
}

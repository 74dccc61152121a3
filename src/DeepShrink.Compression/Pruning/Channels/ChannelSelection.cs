namespace DeepShrink.Compression.Pruning.Channels;

/// <summary>
/// Global channel selection under a budget: units are ranked by importance normalised per group (divided by the
/// group's mean, so layers of different scales compete fairly, as Torch-Pruning's global pruning does) and removed
/// from the least important on, skipping a unit when its group would fall below its floor, until the cost (parameters
/// or MACs, computed exactly from the pruned shapes) is at most the target. The shortest such prefix of the ranking
/// is found by bisection (the cost only falls as units go).
/// </summary>
public static class ChannelSelection
{
    /// <summary>Thrown when the budget cannot be met without emptying a layer beyond its floor.</summary>
    public sealed class UnreachableTargetException(string message) : InvalidOperationException(message);

    /// <summary>
    /// The units to remove. <paramref name="importance"/> is indexed by unit id (NaN for fixed units);
    /// <paramref name="floor"/> gives the fewest units a group keeps; <paramref name="cost"/> prices a removal set.
    /// <paramref name="what"/> names the cost in the error when even the most removal allowed stays above <paramref name="target"/>.
    /// With <paramref name="multiple"/> above 1, the units each group keeps are then rounded to the nearest multiple of it
    /// (groups smaller than that stay as they are), by giving up its least important kept units or taking back its most
    /// important removed ones, and whole tiles of the least important units are removed while the budget is exceeded:
    /// kernels prefer channel counts in whole vector tiles (ONNX Runtime's NCHWc convolutions ran the odd counts of a
    /// pruned vgg-small 1.5x slower than the unpruned model).
    /// </summary>
    public static HashSet<int> Select(ChannelDependencies d, double[] importance, Func<string, int> floor,
        Func<IReadOnlySet<int>, double> cost, double target, string what, int multiple = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(multiple, 1);
        var groups = d.Groups();
        var normalized = new List<(int Id, string Group, double Score)>();
        foreach (var (key, units) in groups)
        {
            double mean = units.Average(u => importance[u.Id]);
            foreach (var u in units)
            {
                double s = importance[u.Id];
                if (double.IsNaN(s)) throw new ArgumentException($"channel unit {u.Id} of group '{key}' has no importance");
                normalized.Add((u.Id, key, mean > 0 ? s / mean : 0));
            }
        }
        // rank: least important first; ties by group then id, so the order is deterministic
        normalized.Sort((a, b) => a.Score != b.Score ? a.Score.CompareTo(b.Score) : a.Group != b.Group ? string.CompareOrdinal(a.Group, b.Group) : a.Id.CompareTo(b.Id));
        var left = groups.ToDictionary(g => g.Key, g => g.Value.Count, StringComparer.Ordinal);
        var sequence = new List<int>();
        foreach (var (id, g, _) in normalized)
        {
            if (left[g] - 1 < Math.Max(1, floor(g))) continue;
            left[g]--;
            sequence.Add(id);
        }
        int hi = 0;
        if (cost(new HashSet<int>()) > target)
        {
            double most = cost(new HashSet<int>(sequence));
            if (most > target)
                throw new UnreachableTargetException($"channel pruning cannot reach {what}: removing every channel the layer floors allow still leaves {most:N0} (target {target:N0}); raise max_layer_prune or the target");
            int lo = 0; // cost(prefix hi) <= target < cost(prefix lo)
            hi = sequence.Count;
            while (hi - lo > 1)
            {
                int mid = (lo + hi) / 2;
                if (cost(new HashSet<int>(sequence.Take(mid))) <= target) hi = mid; else lo = mid;
            }
        }
        var chosen = new HashSet<int>(sequence.Take(hi));
        if (multiple > 1) RoundToMultiples(groups, normalized, chosen, floor, cost, target, what, multiple);
        return chosen;
    }

    private static void RoundToMultiples(Dictionary<string, List<ChannelUnit>> groups, List<(int Id, string Group, double Score)> ranking,
        HashSet<int> chosen, Func<string, int> floor, Func<IReadOnlySet<int>, double> cost, double target, string what, int m)
    {
        // per group, its units from least to most important (the global ranking's order)
        var order = groups.Keys.ToDictionary(k => k, _ => new List<(int Id, double Score)>(), StringComparer.Ordinal);
        foreach (var (id, g, score) in ranking) order[g].Add((id, score));
        int Kept(string g) => order[g].Count(u => !chosen.Contains(u.Id));
        foreach (var (g, units) in order)
        {
            int n = units.Count, kept = Kept(g), min = Math.Max(1, floor(g));
            if (n < m || kept % m == 0) continue;
            int down = kept / m * m, up = Math.Min(n, down + m);
            int want = (kept - down <= up - kept && down >= min) || up % m != 0 ? Math.Max(down, min) : up;
            if (want < kept) // give up the least important kept units
                foreach (var (id, _) in units.Where(u => !chosen.Contains(u.Id)).Take(kept - want)) chosen.Add(id);
            else // take back the most important removed ones
                foreach (var (id, _) in units.Where(u => chosen.Contains(u.Id)).Reverse().Take(want - kept)) chosen.Remove(id);
        }
        while (cost(chosen) > target)
        {
            // the group whose next whole tile of least important kept units scores lowest (per-group normalised scores)
            string? best = null;
            double bestScore = double.MaxValue;
            foreach (var (g, units) in order)
            {
                int kept = Kept(g);
                if (kept - m < Math.Max(1, floor(g)) || units.Count < m) continue;
                double sc = units.Where(u => !chosen.Contains(u.Id)).Take(m).Sum(u => u.Score);
                if (sc < bestScore) { bestScore = sc; best = g; }
            }
            if (best is null)
                throw new UnreachableTargetException($"channel pruning cannot reach {what} with channel counts in multiples of {m}: every group is at its floor (target {target:N0}, reached {cost(chosen):N0}); lower channel_multiple, raise max_layer_prune or the target");
            foreach (var (id, _) in order[best].Where(u => !chosen.Contains(u.Id)).Take(m)) chosen.Add(id);
        }
    }
}

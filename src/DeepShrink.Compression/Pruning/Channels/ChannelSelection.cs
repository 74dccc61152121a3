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
    /// With <paramref name="multiple"/> above 1, each group then gives up its next least important units until the units it
    /// keeps are a multiple of it (groups smaller than that, or that would fall below their floor, stay as they are):
    /// kernels prefer channel counts in whole vector tiles, and removing more never breaks the budget.
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
        if (multiple > 1)
            foreach (var (key, units) in groups)
            {
                int kept = units.Count(u => !chosen.Contains(u.Id));
                int rounded = kept / multiple * multiple;
                if (kept < multiple || rounded == kept || rounded < Math.Max(1, floor(key))) continue;
                foreach (var (id, _, _) in normalized.Where(n => n.Group == key && !chosen.Contains(n.Id)).Take(kept - rounded))
                    chosen.Add(id);
            }
        return chosen;
    }
}

using DeepShrink.Compression.Recipes;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Turns a global <see cref="PruningTarget"/> into per-layer sparsities (<see cref="GlobalAllocation"/>) and
/// checks afterwards that the written model keeps it.
/// </summary>
public static class TargetPlanner
{
    /// <summary>
    /// Sparsities of the layers of <paramref name="curves"/> meeting <paramref name="target"/> with the
    /// <paramref name="fixedTargets"/> of the other layers; throws a one-line error when it is unreachable.
    /// </summary>
    public static Dictionary<string, double> Allocate(CompressionContext ctx, Recipe? recipe, IReadOnlyList<LayerErrorCurve> curves,
        IReadOnlyDictionary<string, double> fixedTargets, PruningTarget target)
    {
        var size = new SizeModel(ctx.Model, recipe ?? new Recipe());
        Dictionary<string, double> Merge(Dictionary<string, double> a)
        {
            foreach (var (k, v) in fixedTargets) a.TryAdd(k, v);
            return a;
        }
        double budget = target.Fraction * (target.IsBytes ? size.DenseBytes : size.TotalParams);
        Func<Dictionary<string, double>, double> cost = target.IsBytes ? a => size.Bytes(Merge(a)) : a => size.KeptParams(Merge(a));
        double? eps = GlobalAllocation.Solve(curves, cost, budget);
        if (eps is null)
        {
            var sparsest = Merge(GlobalAllocation.At(curves, double.MaxValue));
            double best = cost(sparsest) / (target.IsBytes ? size.DenseBytes : size.TotalParams);
            throw new RecipeFormatException(
                $"target {target} is unreachable: with every distributed layer at {LayerErrorCurves.Grid[^1]:P0} sparsity the model still keeps " +
                $"{best:G3} of its dense {(target.IsBytes ? "bytes" : "parameters")} ({1 / best:F1}x); " +
                "raise the fraction or let more layers be pruned");
        }
        var alloc = GlobalAllocation.At(curves, eps.Value);
        var all = Merge(new Dictionary<string, double>(alloc));
        ctx.Log($"target {target}: relative layer error {eps.Value:G3} -> " + string.Join(", ", alloc.Select(kv => $"{kv.Key} {kv.Value:P1}")) +
                $"; predicted {size.Bytes(all):N0} B ({size.DenseBytes / size.Bytes(all):F1}x), {size.KeptParams(all) / size.TotalParams:P2} of parameters kept");
        return alloc;
    }

    /// <summary>
    /// What the written model reached against <paramref name="target"/>: the fraction of dense bytes (file bytes over
    /// <paramref name="denseBytes"/>) or of parameters left non-zero in <paramref name="model"/>.
    /// </summary>
    public static double Reached(PruningTarget target, long fileBytes, long denseBytes, Module model)
    {
        if (target.IsBytes) return (double)fileBytes / denseBytes;
        long total = 0, nonzero = 0;
        foreach (var (_, p) in model.NamedParameters())
        {
            total += p.Size;
            foreach (var v in p.ContiguousData().Span) if (v != 0f) nonzero++;
        }
        return total == 0 ? 0 : (double)nonzero / total;
    }
}

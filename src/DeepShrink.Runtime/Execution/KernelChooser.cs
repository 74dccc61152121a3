using System.Diagnostics;
using DeepShrink.Core;
using DeepShrink.Runtime.Kernels;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// Picks a layer's weight storage by timing each candidate on this machine at load time (or by
/// policy), so dense storage is kept only where it is measurably faster.
/// </summary>
internal static class KernelChooser
{
    private const int MinRepeats = 3, MaxRepeats = 40;
    private const double BudgetMicros = 3000;

    /// <summary>The chosen candidate and the measured per-sample micros of each candidate by kind.</summary>
    /// <param name="cost">Per-sample cost of one candidate (microseconds).</param>
    public static (IWeightMatrix[] Chosen, Dictionary<string, double> Micros) Choose(
        List<IWeightMatrix[]> compressed, Func<IWeightMatrix[]> dense, KernelPolicy policy, Func<IWeightMatrix[], double> cost)
    {
        var micros = new Dictionary<string, double>(StringComparer.Ordinal);
        if (policy == KernelPolicy.Dense || compressed.Count == 0) return (dense(), micros);
        if (policy == KernelPolicy.Compressed) return (compressed[0], micros);
        IWeightMatrix[]? best = null;
        double bestCost = double.MaxValue;
        foreach (var cand in compressed.Append(dense()))
        {
            double c = cost(cand);
            micros[cand[0].Kind] = Math.Round(c, 3);
            if (c < bestCost) { best = cand; bestCost = c; }
        }
        return (best!, micros);
    }

    /// <summary>Per-sample cost of a fully connected candidate: batch-1 time + (batch-B time) / B.</summary>
    public static double LinearCost(IWeightMatrix w, int batch, int threads)
    {
        var rng = new Rng(7);
        var x = Tensor.Uniform(rng, -1f, 1f, batch, w.Cols).Storage;
        var y = new float[batch * w.Rows];
        double one = MinMicros(() => w.MultiplyRows(x.AsSpan(0, w.Cols), 1, y, threads));
        double many = batch > 1 ? MinMicros(() => w.MultiplyRows(x, batch, y, threads)) / batch : 0;
        return one + many;
    }

    /// <summary>
    /// Per-image cost of a convolution candidate: one product per group over an im2col matrix of one
    /// image (<paramref name="plane"/> columns) plus the per-image time over four images at once (how
    /// the dense kernel batches). The im2col itself costs the same for every candidate and is left out.
    /// </summary>
    public static double ConvCost(IWeightMatrix[] groups, int plane, int threads)
    {
        const int Images = 4;
        var rng = new Rng(7);
        var x = Tensor.Uniform(rng, -1f, 1f, groups[0].Cols, plane * Images).Storage;
        var y = new float[groups[0].Rows * plane * Images];
        double one = MinMicros(() => { foreach (var g in groups) g.MultiplyColumns(x, plane, y, threads); });
        double four = MinMicros(() => { foreach (var g in groups) g.MultiplyColumns(x, plane * Images, y, threads); });
        return one + four / Images;
    }

    /// <summary>Best time of repeated runs after a warm-up, within a small time budget.</summary>
    public static double MinMicros(Action run)
    {
        run();
        double best = double.MaxValue, total = 0;
        for (int rep = 0; rep < MaxRepeats && (rep < MinRepeats || total < BudgetMicros); rep++)
        {
            long t0 = Stopwatch.GetTimestamp();
            run();
            double us = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
            best = Math.Min(best, us);
            total += us;
        }
        return best;
    }
}

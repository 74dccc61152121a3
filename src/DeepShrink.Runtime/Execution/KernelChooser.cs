using System.Diagnostics;
using System.Runtime;
using DeepShrink.Core;
using DeepShrink.Runtime.Kernels;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// Picks a layer's weight storage by timing each candidate on this machine at load time (or by
/// policy), so dense storage is kept only where it is measurably faster.
/// </summary>
internal static class KernelChooser
{
    private const int Repeats = 5, MinRounds = 3, StableRounds = 3;

    /// <summary>Most timing rounds of one layer (a noisy machine keeps "improving"; each round costs a few small allocations).</summary>
    private const int MaxRounds = 64;

    /// <summary>JIT silence required before trusting timings of freshly compiled code (the runtime delays re-optimisation by 100 ms).</summary>
    public const double JitQuietMs = 200;

    /// <summary>Longest measurement of one layer.</summary>
    public const double MaxMs = 1000;

    /// <summary>The chosen candidate and the measured per-sample micros of each candidate by kind.</summary>
    /// <param name="cost">Per-sample cost of one candidate (microseconds); called over several rounds, the minimum counts.</param>
    /// <remarks>
    /// Candidates are timed in alternating rounds so both see the same machine load, each keeping its
    /// best. Timing code that is not optimised yet would mislead (the .NET JIT first compiles methods
    /// quickly, then recompiles hot ones optimised in the background), so rounds go on until no best
    /// has improved for a few rounds and, when this layer's rounds made the JIT compile anything, until
    /// it has been quiet for <see cref="JitQuietMs"/>; at most <see cref="MaxMs"/> per layer.
    /// </remarks>
    public static (IWeightMatrix[] Chosen, Dictionary<string, double> Micros) Choose(
        List<IWeightMatrix[]> compressed, Func<IWeightMatrix[]> dense, KernelPolicy policy, Func<IWeightMatrix[], double> cost)
    {
        var micros = new Dictionary<string, double>(StringComparer.Ordinal);
        if (policy == KernelPolicy.Dense || compressed.Count == 0) return (dense(), micros);
        if (policy == KernelPolicy.Compressed) return (compressed[0], micros);
        var candidates = compressed.Append(dense()).ToList();
        var best = BestTimes(candidates.Count, i => cost(candidates[i]));
        int win = Array.IndexOf(best, best.Min());
        for (int i = 0; i < candidates.Count; i++) micros[candidates[i][0].Kind] = Math.Round(best[i], 3);
        return (candidates[win], micros);
    }

    /// <summary>
    /// Best cost of each of <paramref name="count"/> candidates, timed in alternating rounds (see <see cref="Choose"/>)
    /// until no best improves for a few rounds and the JIT has been quiet, or <paramref name="maxMs"/> has passed.
    /// </summary>
    public static double[] BestTimes(int count, Func<int, double> cost, double maxMs = MaxMs)
    {
        var best = Enumerable.Repeat(double.MaxValue, count).ToArray();
        long start = Stopwatch.GetTimestamp(), quietSince = start;
        long compiled = JitInfo.GetCompiledMethodCount();
        bool jitted = false;
        for (int round = 0, stable = 0; ; round++)
        {
            bool improved = false;
            for (int i = 0; i < count; i++)
            {
                double c = cost(i);
                if (c < best[i] * 0.97) improved = true;
                best[i] = Math.Min(best[i], c);
            }
            stable = improved ? 0 : stable + 1;
            long now = JitInfo.GetCompiledMethodCount();
            if (now != compiled) { compiled = now; jitted = true; quietSince = Stopwatch.GetTimestamp(); }
            bool settled = !jitted || Stopwatch.GetElapsedTime(quietSince).TotalMilliseconds >= JitQuietMs;
            if ((round + 1 >= MinRounds && stable >= StableRounds && settled) || round + 1 >= MaxRounds || Stopwatch.GetElapsedTime(start).TotalMilliseconds > maxMs) break;
        }
        return best;
    }

    /// <summary>
    /// The cost function <see cref="Choose"/> calls over its rounds: each candidate's step is built once
    /// (<paramref name="make"/> may copy or repack the weights) and one random input sized to the layer
    /// is shared by all candidates and rounds, so timing a layer allocates about one step per candidate
    /// and one input, however many rounds it takes.
    /// </summary>
    /// <param name="make">Builds the step that runs a candidate (reading storage 0, writing storage 1).</param>
    /// <param name="batch">Samples of the batched measurement.</param>
    /// <param name="threads">Most threads a kernel may use.</param>
    public static Func<IWeightMatrix[], double> StepCosts(Func<IWeightMatrix[], Step> make, int batch, int threads)
    {
        var steps = new Dictionary<IWeightMatrix[], Step>(ReferenceEqualityComparer.Instance);
        float[]? x = null;
        return candidate =>
        {
            if (!steps.TryGetValue(candidate, out var step)) steps[candidate] = step = make(candidate);
            x ??= Tensor.Uniform(new Rng(7), -1f, 1f, batch * step.InputSizes[0]).Storage;
            return StepCost(step, x, batch, threads);
        };
    }

    /// <summary>
    /// Per-sample cost of a step as it will run (input transform, products, bias; for a convolution:
    /// im2col and the products, or the dense conv kernel): its time at batch 1 plus its per-sample time at batch <paramref name="batch"/>.
    /// </summary>
    /// <param name="step">The step (reading storage 0, writing storage 1).</param>
    /// <param name="x">At least <paramref name="batch"/> input samples. // [batch, inputSize]</param>
    /// <param name="batch">Samples of the batched measurement.</param>
    /// <param name="threads">Most threads a kernel may use.</param>
    public static double StepCost(Step step, float[] x, int batch, int threads)
    {
        double Time(int b)
        {
            using var f = new Frame(2, b, threads);
            x.AsSpan(0, b * step.InputSizes[0]).CopyTo(f.Get(0, b * step.InputSizes[0]));
            return MinMicros(() => step.Run(f));
        }
        return Time(1) + (batch > 1 ? Time(batch) / batch : 0);
    }

    /// <summary>Best of a few runs after a warm-up call.</summary>
    public static double MinMicros(Action run)
    {
        run();
        double best = double.MaxValue;
        for (int rep = 0; rep < Repeats; rep++)
        {
            long t0 = Stopwatch.GetTimestamp();
            run();
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
        }
        return best;
    }
}

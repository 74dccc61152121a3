using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Bench;

/// <summary>
/// Per convolution shape of a graph at batch 1: the runtime's packed convolution (<see cref="PackedConv"/>) against
/// the training engine's im2col + SGEMM (<see cref="ConvKernels.Forward"/>), interleaved, same threads.
/// </summary>
public static class ResNetConvLayers
{
    /// <summary>Adds <c>conv_{node}_packed_1t_peak_fraction</c> (one thread, thread CPU clock, against the FMA peak), <c>conv_{node}_packed_us</c>, <c>conv_{node}_sgemm_us</c> and <c>conv_{node}_packed_vs_sgemm</c> (median of paired per-round ratios) per distinct shape.</summary>
    public static void Run(Dictionary<string, object> r, ModelGraph graph, IReadOnlyDictionary<string, Tensor> tensors, int threads, double seconds)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(tensors);
        var seen = new HashSet<ConvGeometry>();
        double peak = FmaPeak.Measure(1, singleThreadClock: BenchClock.ThreadCpu).Gflops;
        r["fma_peak_1t_gflops"] = peak;
        foreach (var (name, g) in Geometries(graph, tensors))
        {
            if (!seen.Add(g)) continue;
            var rng = new Rng(5);
            var x = Tensor.Randn(rng, 1f, g.InputSize).Span.ToArray();
            var w = tensors[graph.Nodes.First(n => n.Name == name).Params["weight"]].Span.ToArray();
            var y = new float[g.OutputSize];
            var packed = new PackedConv(g, w, []);
            var rounds = ModelTiming.Rounds(new Action[]
            {
                () => packed.Forward(1, x, y, default, false, threads),
                () => ConvKernels.Forward(g, x, w, [], y, threads),
            }, seconds, rounds: 9);
            var t = ModelTiming.Summaries(rounds);
            r[$"conv_{name}_packed_us"] = t[0].Median;
            r[$"conv_{name}_sgemm_us"] = t[1].Median;
            r[$"conv_{name}_packed_vs_sgemm"] = ModelTiming.PairedRatio(rounds[0], rounds[1]);
            // one thread on its own CPU clock: the fraction of the FMA peak, little disturbed by other processes
            var cpu = BenchStats.Measure(() => packed.Forward(1, x, y, default, false, 1), 5, clock: BenchClock.ThreadCpu);
            r[$"conv_{name}_packed_1t_peak_fraction"] = cpu.Gflops(2.0 * g.Macs) / peak;
            if (WinogradConv.Supports(g)) Winograd(r, name, g, w, packed, threads, seconds);
        }
    }

    /// <summary>
    /// <c>conv_{node}_winograd_us</c> and <c>conv_{node}_winograd_vs_packed</c> (batch 1, paired, same threads) and
    /// <c>conv_{node}_winograd_vs_packed_1t_b{1,8}</c> (one thread, thread CPU clock, ratio of medians).
    /// </summary>
    private static void Winograd(Dictionary<string, object> r, string name, ConvGeometry g, float[] w, PackedConv packed, int threads, double seconds)
    {
        var wino = new WinogradConv(g, w, [], WinogradConv.RuntimeTile(g));
        var x = Tensor.Randn(new Rng(6), 1f, 8 * g.InputSize).Span.ToArray();
        var y = new float[8 * g.OutputSize];
        var x1 = x.AsSpan(0, g.InputSize).ToArray();
        var y1 = new float[g.OutputSize];
        var rounds = ModelTiming.Rounds(new Action[]
        {
            () => wino.Forward(1, x1, y1, default, false, threads),
            () => packed.Forward(1, x1, y1, default, false, threads),
        }, seconds, rounds: 9);
        r[$"conv_{name}_winograd_us"] = ModelTiming.Summaries(rounds)[0].Median;
        r[$"conv_{name}_winograd_vs_packed"] = ModelTiming.PairedRatio(rounds[0], rounds[1]);
        foreach (int b in new[] { 1, 8 })
        {
            var xb = x.AsSpan(0, b * g.InputSize).ToArray();
            var yb = new float[b * g.OutputSize];
            double wi = BenchStats.Measure(() => wino.Forward(b, xb, yb, default, false, 1), 5, clock: BenchClock.ThreadCpu).Median;
            double pa = BenchStats.Measure(() => packed.Forward(b, xb, yb, default, false, 1), 5, clock: BenchClock.ThreadCpu).Median;
            r[$"conv_{name}_winograd_vs_packed_1t_b{b}"] = wi / pa;
        }
    }

    /// <summary>Every conv2d node with its batch-1 geometry (shapes followed through the graph).</summary>
    private static IEnumerable<(string Name, ConvGeometry G)> Geometries(ModelGraph graph, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal) { [graph.Input] = graph.InputShape };
        foreach (var n in graph.Nodes)
        {
            var s = shapes[n.Inputs[0]];
            switch (n.Op)
            {
                case "conv2d":
                    var w = tensors[n.Params["weight"]].Shape;
                    var g = new ConvGeometry(1, s[0], s[1], s[2], w[0], w[2], w[3], n.Int("stride_h", 1), n.Int("stride_w", 1), n.Int("pad_h", 0), n.Int("pad_w", 0));
                    yield return (n.Name, g);
                    shapes[n.Output] = [g.O, g.OH, g.OW];
                    break;
                case "maxpool2d":
                    int k = n.Int("kernel", 2), st = n.Int("stride", k), p = n.Int("pad", 0);
                    shapes[n.Output] = [s[0], (s[1] + 2 * p - k) / st + 1, (s[2] + 2 * p - k) / st + 1];
                    break;
                default: shapes[n.Output] = s; break;
            }
        }
    }
}

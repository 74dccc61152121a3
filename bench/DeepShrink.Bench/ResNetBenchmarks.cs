using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format.Codecs;
using DeepShrink.Onnx;
using DeepShrink.Runtime;
using Google.Protobuf;

namespace DeepShrink.Bench;

/// <summary>
/// Our runtime against ONNX Runtime on a dense float32 ResNet18 (<see cref="ResNetGraph"/>, seeded random
/// weights): the same graph and weights loaded by <see cref="InferenceModel"/> and exported by
/// <see cref="OnnxExporter"/> to ONNX Runtime, both with the same thread count (<c>bench resnet</c>).
/// </summary>
/// <remarks>
/// Per image size: outputs compared at the throughput batch (max abs difference, and relative to the largest
/// ONNX Runtime output), then batch-1 latency and batch-B time interleaved round by round
/// (<see cref="ModelTiming"/>, median over rounds and the spread; <c>*_ours_vs_ort_paired</c> is the median of the
/// per-round ratios, steadier on a loaded machine; <c>*_ours_vs_ort_best</c> the ratio of the fastest rounds, the
/// nearest to an idle machine). The runtime's earlier path (no batch-norm folding, im2col + SGEMM convolutions, separate
/// add steps: <c>FoldBatchNorm</c> and <c>PackConvolutions</c> off) runs in the same rounds as a third engine
/// (<c>earlier_*</c>, <c>*_ours_vs_earlier_paired</c>). Inputs are seeded N(0, 1) noise.
/// The first size gives the keys <c>ours_b1_ms</c>, <c>ort_b1_ms</c>, <c>b1_ours_vs_ort</c> (ours / ort, below
/// 1 means ours is faster), the same for <c>b{B}</c>, and <c>output_max_abs_diff</c>; other sizes prefix
/// them with <c>s{size}_</c>.
/// </remarks>
public static class ResNetBenchmarks
{
    /// <summary>Runs every size; returns the metrics (keys in docs/CLI.md).</summary>
    public static IReadOnlyDictionary<string, object> Run(ResNetBenchOptions opts)
    {
        ArgumentNullException.ThrowIfNull(opts);
        opts.Validate();
        var r = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["model"] = "resnet18 (synthetic weights)", ["threads"] = opts.Threads, ["batch"] = opts.Batch,
            ["image_size"] = opts.ImageSizes[0], ["seed"] = opts.Seed, ["load_avg_1m_start"] = LoadAverage(),
        };
        string work = Directory.CreateTempSubdirectory("dsresnet-").FullName;
        try
        {
            for (int i = 0; i < opts.ImageSizes.Length; i++)
            {
                int size = opts.ImageSizes[i];
                opts.Log?.WriteLine($"bench resnet: {size}x{size}, batch 1 and {opts.Batch}, {opts.Threads} threads");
                Size(r, i == 0 ? "" : $"s{size}_", size, Path.Combine(work, $"resnet18-{size}.onnx"), opts, profile: (opts.Profile || opts.Layers) && i == 0);
            }
        }
        finally { Directory.Delete(work, recursive: true); }
        r["load_avg_1m_end"] = LoadAverage();
        return r;
    }

    private static void Size(Dictionary<string, object> r, string prefix, int size, string onnxPath, ResNetBenchOptions opts, bool profile)
    {
        var (graph, tensors) = ResNetGraph.ResNet18(size, opts.Seed);
        var ours = Load(graph, tensors, opts.Threads);
        File.WriteAllBytes(onnxPath, OnnxExporter.Build(graph, tensors).ToByteArray());
        using var ort = new OnnxSession(onnxPath, opts.Threads);
        int sample = ours.InputSize, classes = ours.OutputSize, big = opts.Batch;
        var xs = Tensor.Randn(new Rng(opts.Seed + 1), 1f, big * sample).Span.ToArray();
        var x1 = xs[..sample];
        float[] y1 = new float[classes], yBig = new float[big * classes], yOrt = new float[big * classes];

        ours.Run(xs, big, yBig);
        ort.Run(xs, big, yOrt, [classes]);
        double diff = 0, scale = 0;
        for (int i = 0; i < yBig.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs(yBig[i] - yOrt[i]));
            scale = Math.Max(scale, Math.Abs(yOrt[i]));
        }
        r[prefix + "output_max_abs_diff"] = diff;
        r[prefix + "output_max_abs"] = scale;
        r[prefix + "output_rel_diff"] = scale > 0 ? diff / scale : diff;

        var before = Load(graph, tensors, opts.Threads, earlier: true);
        Action[] one = [() => ours.Run(x1, 1, y1), () => ort.Run(x1, 1, y1, [classes]), () => before.Run(x1, 1, y1)];
        Action[] many = [() => ours.Run(xs, big, yBig), () => ort.Run(xs, big, yBig, [classes]), () => before.Run(xs, big, yBig)];
        Timings(r, prefix, "b1", ModelTiming.Rounds(one, opts.SecondsPerMeasurement, opts.Rounds));
        Timings(r, prefix, $"b{big}", ModelTiming.Rounds(many, opts.SecondsPerMeasurement, opts.Rounds));
        if (prefix.Length == 0) CpuTime(r, graph, tensors, onnxPath, x1, classes, opts);
        if (profile && opts.Layers) ResNetConvLayers.Run(r, graph, tensors, opts.Threads, opts.SecondsPerMeasurement / 4);
        if (profile && opts.Profile)
            foreach (var s in ours.Profile(x1, 1, 9))
                r[$"{prefix}step_{s.Name}_us"] = s.MedianMicros;
    }

    /// <summary>
    /// Both engines on one thread, timed on this process's CPU clock (batch 1): the work each engine does, little
    /// affected by other processes taking turns on the cores (wall time on a loaded machine also measures how each
    /// engine's threads fare in the scheduler, e.g. ONNX Runtime's spinning workers).
    /// </summary>
    private static void CpuTime(Dictionary<string, object> r, ModelGraph graph, IReadOnlyDictionary<string, Tensor> tensors, string onnxPath, float[] x1, int classes, ResNetBenchOptions opts)
    {
        var ours = Load(graph, tensors, 1);
        var before = Load(graph, tensors, 1, earlier: true);
        using var ort = new OnnxSession(onnxPath, 1);
        var y = new float[classes];
        List<double> a = new(), b = new(), e = new();
        for (int round = 0; round < Math.Max(3, opts.Rounds / 3); round++)
        {
            a.Add(BenchStats.Measure(() => ours.Run(x1, 1, y), 3, 0.05, clock: BenchClock.ProcessCpu).Median);
            // Park: a worker of ours still waiting would charge its CPU time to ONNX Runtime on the process clock
            b.Add(BenchStats.Measure(() => { WorkerPool.Park(); ort.Run(x1, 1, y, [classes]); }, 3, 0.05, clock: BenchClock.ProcessCpu).Median);
            e.Add(BenchStats.Measure(() => before.Run(x1, 1, y), 3, 0.05, clock: BenchClock.ProcessCpu).Median);
        }
        r["cpu1t_earlier_b1_ms"] = e.Min() * 1000;
        r["cpu1t_b1_ours_vs_earlier"] = ModelTiming.PairedRatio(a.ToArray(), e.ToArray());
        r["cpu1t_clock"] = BenchClocks.Effective(BenchClock.ProcessCpu).ToString();
        r["cpu1t_ours_b1_ms"] = a.Min() * 1000;
        r["cpu1t_ort_b1_ms"] = b.Min() * 1000;
        r["cpu1t_b1_ours_vs_ort"] = ModelTiming.PairedRatio(a.ToArray(), b.ToArray());
    }

    private static void Timings(Dictionary<string, object> r, string prefix, string batch, double[][] rounds)
    {
        var t = ModelTiming.Summaries(rounds);
        r[$"{prefix}{batch}_ours_vs_ort_paired"] = ModelTiming.PairedRatio(rounds[0], rounds[1]);
        r[$"{prefix}{batch}_ours_vs_ort_best"] = t[0].Min / t[1].Min;
        r[$"{prefix}earlier_{batch}_ms"] = t[2].Median / 1000;
        r[$"{prefix}{batch}_ours_vs_earlier_paired"] = ModelTiming.PairedRatio(rounds[0], rounds[2]);
        r[$"{prefix}ours_{batch}_best_ms"] = t[0].Min / 1000;
        r[$"{prefix}ort_{batch}_best_ms"] = t[1].Min / 1000;
        r[$"{prefix}ours_{batch}_ms"] = t[0].Median / 1000;
        r[$"{prefix}ort_{batch}_ms"] = t[1].Median / 1000;
        r[$"{prefix}ours_{batch}_spread"] = t[0].Spread;
        r[$"{prefix}ort_{batch}_spread"] = t[1].Spread;
        r[$"{prefix}{batch}_ours_vs_ort"] = t[0].Median / t[1].Median;
    }

    /// <summary>Loads the graph in our runtime from dense float32 tensors (dense kernels).</summary>
    /// <param name="earlier">The path before batch-norm folding and packed, fused convolutions (for comparison).</param>
    public static InferenceModel Load(ModelGraph graph, IReadOnlyDictionary<string, Tensor> tensors, int threads, bool earlier = false) =>
        InferenceModel.Load(graph, n => tensors.TryGetValue(n, out var t) ? DenseCodec.EncodeF32(t.Span, t.Shape) : null,
            options: new RuntimeOptions { Threads = threads, Kernels = KernelPolicy.Dense, FoldBatchNorm = !earlier, PackConvolutions = !earlier });

    private static double LoadAverage()
    {
        try { return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return -1; }
    }
}

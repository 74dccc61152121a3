using DeepShrink.Nn.IO;
using DeepShrink.Compression;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Data;
using DeepShrink.Format;
using DeepShrink.Onnx;
using DeepShrink.Runtime;

namespace DeepShrink.Bench;

/// <summary>
/// End-to-end inference and training benchmarks of LeNet-300-100 and LeNet-5 (<c>bench models</c>): in
/// one process, with one thread count, batch-1 latency and batch-64 throughput of
/// <list type="bullet">
/// <item><c>nn</c>: our dense training engine (zoo module forward under NoGrad) on the dense checkpoint,</item>
/// <item><c>runtime</c>: our runtime on the Deep Compression .dsz (compressed kernels),</item>
/// <item><c>runtime_dense</c>: our runtime on the dense checkpoint (dense kernels only),</item>
/// <item><c>ort</c>: ONNX Runtime on the dense ONNX export (same intra-op threads, sequential execution);</item>
/// </list>
/// per fully connected layer, batch-1 time of the compressed kernel against our dense paths; and
/// training images/s.
/// </summary>
/// <remarks>
/// Timing: engines are interleaved round by round (<see cref="ModelTiming"/>); each number is the median
/// round. Inputs are real Fashion-MNIST test images when the dataset is installed, else seeded noise.
/// Memory (in-process, so approximate): <c>*_weight_bytes</c> is what each engine holds for weights
/// (module parameters and buffers; the runtime's chosen matrices; for ONNX Runtime the .onnx file size,
/// i.e. dense float32 initializers); <c>*_managed_bytes</c> and <c>*_working_set_bytes</c> are the growth
/// of the managed heap and of the process working set over loading plus 5 warm-up calls, each read
/// after a full GC with the earlier engines still loaded (after one throw-away load, so process-wide
/// caches are not charged to the first engine). ONNX Runtime's weights live in native memory, so its
/// managed growth is near zero and its working-set growth is the number to read. Transient load-time
/// peaks (the runtime decodes a dense copy to time it against the compressed kernel) are not included.
/// </remarks>
public static class ModelBenchmarks
{
    /// <summary>FC layers at least this large enter <c>fc_b1_speedup_min</c>.</summary>
    public const int MinFcWeightsForSpeedup = 30_000;

    /// <summary>Runs everything; keys are listed in docs/CLI.md; <see cref="ModelBenchTable.Print"/> formats them.</summary>
    public static IReadOnlyDictionary<string, object> Run(ModelBenchOptions opts)
    {
        ArgumentNullException.ThrowIfNull(opts);
        opts.Validate();
        int threads = opts.Threads > 0 ? opts.Threads : Parallelism.Degree;
        int saved = Parallelism.Degree;
        Parallelism.Degree = threads;
        var r = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["threads"] = threads,
            ["throughput_batch"] = opts.ThroughputBatch,
            ["inputs"] = Directory.Exists(DatasetSpec.FashionMnistDirectory) ? "fashion-mnist test images" : "seeded noise",
        };
        string work = opts.WorkDirectory ?? Directory.CreateTempSubdirectory("dsbench-").FullName;
        try
        {
            var models = new List<(string Key, string Dense, string Compressed)> { ("lenet300", opts.Lenet300Dense, opts.Lenet300Compressed) };
            if (opts.Lenet5Dense is not null) models.Add(("lenet5", opts.Lenet5Dense, opts.Lenet5Compressed!));
            foreach (var (key, dense, compressed) in models)
            {
                opts.Log?.WriteLine($"bench models: {key} inference ({threads} threads)");
                Inference(r, key, dense, compressed, Path.Combine(work, key + ".onnx"), threads, opts);
                FcLayers(r, key, compressed, threads, opts.SecondsPerMeasurement);
            }
            var speedups = r.Where(kv => kv.Key.StartsWith("fc_weights_", StringComparison.Ordinal) && (long)kv.Value >= MinFcWeightsForSpeedup)
                .Select(kv => (double)r["fc_b1_speedup_" + kv.Key["fc_weights_".Length..]]).ToList();
            if (speedups.Count > 0) r["fc_b1_speedup_min"] = speedups.Min();
            if (opts.Training)
            {
                opts.Log?.WriteLine("bench models: training throughput");
                r["train_images_per_second_lenet300"] = ModelTraining.ImagesPerSecond("lenet-300-100", opts.TrainingSteps);
                if (opts.Lenet5Dense is not null)
                {
                    double ips = ModelTraining.ImagesPerSecond("lenet-5", opts.TrainingSteps);
                    r["train_images_per_second_lenet5"] = ips;
                    r["lenet5_epoch_seconds_estimate"] = 60000 / ips;
                }
            }
        }
        finally
        {
            Parallelism.Degree = saved;
            if (opts.WorkDirectory is null) Directory.Delete(work, recursive: true);
        }
        return r;
    }

    private static void Inference(Dictionary<string, object> r, string key, string densePath, string compressedPath, string onnxPath, int threads, ModelBenchOptions opts)
    {
        var stored = ModelIO.Load(densePath, DeepShrink.Compression.Quantization.InputHooks.Factories);
        OnnxExport.FromModule(stored.Model, stored.SampleShape, stored.Metadata, onnxPath);
        int sample = ShapeUtil.Numel(stored.SampleShape), big = opts.ThroughputBatch;
        var xs = Inputs(stored, big);
        var x1 = xs[..sample];
        int classes = stored.OutputShape[0];
        var y1 = new float[classes];
        var yBig = new float[big * classes];
        var engines = new List<ModelEngine>();
        // a throw-away load first: process-wide caches (JIT, pooled GEMM packing buffers used by the
        // load-time measurement) are then not charged to whichever engine happens to be measured first
        InferenceModel.Load(compressedPath, new RuntimeOptions { Threads = threads }).Run(x1, 1, y1);
        ModelEngine.Settle();
        try
        {
            engines.Add(ModelEngine.Measured(() => ModelEngine.Runtime("runtime", InferenceModel.Load(compressedPath, new RuntimeOptions { Threads = threads })), x1, 1, y1));
            engines.Add(ModelEngine.Measured(() => ModelEngine.Dense(ModelIO.Load(densePath, DeepShrink.Compression.Quantization.InputHooks.Factories)), x1, 1, y1));
            engines.Add(ModelEngine.Measured(() => ModelEngine.Runtime("runtime_dense", ModelEngine.DenseRuntime(ModelIO.Load(densePath, DeepShrink.Compression.Quantization.InputHooks.Factories), threads)), x1, 1, y1));
            engines.Add(ModelEngine.Measured(() => ModelEngine.Ort(onnxPath, threads, [classes]), x1, 1, y1));
            Checks(r, key, engines, compressedPath, xs, big, classes);
            var one = ModelTiming.Interleaved(engines.Select(e => (Action)(() => e.Run(x1, 1, y1))).ToArray(), opts.SecondsPerMeasurement);
            var many = ModelTiming.Interleaved(engines.Select(e => (Action)(() => e.Run(xs, big, yBig))).ToArray(), opts.SecondsPerMeasurement);
            for (int i = 0; i < engines.Count; i++)
            {
                string p = $"{key}_{engines[i].Name}";
                Timings(r, p, one[i], many[i], big, engines[i].WeightBytes);
                r[$"{p}_managed_bytes"] = engines[i].ManagedBytes;
                r[$"{p}_working_set_bytes"] = engines[i].WorkingSetBytes;
            }
            double rt1 = one[0].Median, ort1 = one[3].Median;
            r[$"{key}_b1_vs_ort"] = rt1 / ort1;
            r[$"{key}_b{big}_vs_ort"] = many[0].Median / many[3].Median;
            r[$"{key}_b1_speedup_vs_nn"] = one[1].Median / rt1;
            r[$"{key}_b1_speedup_vs_runtime_dense"] = one[2].Median / rt1;
        }
        finally
        {
            foreach (var e in engines) e.Dispose();
        }
    }

    /// <summary>Correctness next to the timings: runtime vs the decoded model, ONNX Runtime vs the dense model, and their accuracies.</summary>
    private static void Checks(Dictionary<string, object> r, string key, List<ModelEngine> engines, string compressedPath, float[] xs, int batch, int classes)
    {
        var decoded = ModelIO.LoadDsz(DszFile.Read(compressedPath), DeepShrink.Compression.Quantization.InputHooks.Factories);
        Tensor want;
        using (Engine.NoGrad()) want = decoded.Model.Forward(new Tensor(xs, [batch, .. decoded.SampleShape]));
        var got = new float[batch * classes];
        engines[0].Run(xs, batch, got);
        r[$"{key}_runtime_vs_decoded_max_abs_diff"] = (double)want.MaxAbsDiff(new Tensor(got, batch, classes));
        var dense = new float[batch * classes];
        var ort = new float[batch * classes];
        engines[1].Run(xs, batch, dense);
        engines[3].Run(xs, batch, ort);
        r[$"{key}_ort_vs_nn_max_abs_diff"] = (double)new Tensor(dense, batch, classes).MaxAbsDiff(new Tensor(ort, batch, classes));
    }

    /// <summary>Per fully connected layer of the .dsz: batch-1 time of the compressed kernel vs the dense kernel and the dense engine's Linear.</summary>
    private static void FcLayers(Dictionary<string, object> r, string key, string compressedPath, int threads, double seconds)
    {
        foreach (var layer in ModelFcLayers.Open(compressedPath, threads))
        {
            var t = ModelTiming.Interleaved([layer.RunDenseKernel, layer.RunNnLinear, layer.RunCompressed], seconds);
            string s = $"{key}_{layer.Name}";
            double dense = Math.Min(t[0].Median, t[1].Median);
            r[$"fc_weights_{s}"] = layer.Weights;
            r[$"fc_density_{s}"] = layer.Density;
            r[$"fc_b1_dense_kernel_us_{s}"] = t[0].Median;
            r[$"fc_b1_nn_linear_us_{s}"] = t[1].Median;
            r[$"fc_b1_compressed_us_{s}"] = t[2].Median;
            r[$"fc_b1_speedup_{s}"] = dense / t[2].Median;
            r[$"fc_compressed_bytes_{s}"] = layer.CompressedBytes;
        }
    }

    /// <summary>Latency and throughput keys <c>{prefix}_b1_us</c>, <c>_b1_spread</c>, <c>_b{big}_images_per_second</c>, <c>_b{big}_spread</c>, <c>_weight_bytes</c>.</summary>
    internal static void Timings(Dictionary<string, object> r, string prefix, ModelTime one, ModelTime many, int big, long weightBytes)
    {
        r[$"{prefix}_b1_us"] = one.Median;
        r[$"{prefix}_b1_spread"] = one.Spread;
        r[$"{prefix}_b{big}_images_per_second"] = big / (many.Median * 1e-6);
        r[$"{prefix}_b{big}_spread"] = many.Spread;
        r[$"{prefix}_weight_bytes"] = weightBytes;
    }

    private static float[] Inputs(LoadedModel m, int batch) => Inputs(m.SampleShape, m.Meta(ModelIO.NormalizationKey), batch);

    /// <summary>[batch, sample] inputs: normalised test images when available (and the samples are [1, 28, 28]), else seeded noise.</summary>
    internal static float[] Inputs(IReadOnlyList<int> sampleShape, string? normalizationJson, int batch)
    {
        if (Directory.Exists(DatasetSpec.FashionMnistDirectory) && sampleShape.SequenceEqual([1, 28, 28]))
        {
            var norm = normalizationJson is string j ? Normalization.FromJson(j) : Normalization.FashionMnist;
            var data = DatasetLoader.Load(new DatasetSpec(DatasetKind.FashionMnist), new DatasetLoadOptions { Normalization = norm });
            return data.Test.Take(batch).Images.ToArray();
        }
        return Tensor.Randn(new Rng(11), 1f, [batch, .. sampleShape]).Storage;
    }
}

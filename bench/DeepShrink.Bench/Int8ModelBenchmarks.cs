using DeepShrink.Core;
using DeepShrink.Format;
using DeepShrink.Onnx;
using DeepShrink.Runtime;

namespace DeepShrink.Bench;

/// <summary>
/// An int8 .dsz (int8-ptq / int8-qat) in our runtime: integer kernels vs the float simulation of the same
/// file vs the load-time choice, and ONNX Runtime on its QDQ export; batch-1 latency and batch-64 throughput
/// in one process, interleaved (<see cref="ModelTiming"/>), the same thread count everywhere.
/// </summary>
/// <remarks>
/// Engines (key fragment): <c>int8</c> = <see cref="KernelPolicy.Compressed"/> (every int8 layer on the int8
/// GEMM), <c>float</c> = <see cref="KernelPolicy.Dense"/> (weights decoded to float32, the input quantisation
/// simulated in float), <c>auto</c> = <see cref="KernelPolicy.Auto"/> (per layer, whichever was faster at load),
/// <c>ort_qdq</c> = ONNX Runtime on <see cref="OnnxExport.FromDsz"/>'s QDQ model.
/// </remarks>
public static class Int8ModelBenchmarks
{
    private static readonly (string Name, KernelPolicy Policy)[] Policies =
        [("int8", KernelPolicy.Compressed), ("float", KernelPolicy.Dense), ("auto", KernelPolicy.Auto)];

    /// <summary>Runs the comparison on <paramref name="dszPath"/>; keys are <c>int8model_*</c> (docs/CLI.md).</summary>
    public static IReadOnlyDictionary<string, object> Run(string dszPath, int threads, double seconds, int batch = 64, TextWriter? log = null)
    {
        if (!File.Exists(dszPath)) throw new FileNotFoundException($"int8 model not found: {dszPath}", dszPath);
        threads = threads > 0 ? threads : Parallelism.Degree;
        var r = new Dictionary<string, object>(StringComparer.Ordinal) { ["threads"] = threads, ["throughput_batch"] = batch };
        var work = Directory.CreateTempSubdirectory("dsbench-int8-").FullName;
        var engines = new List<ModelEngine>();
        try
        {
            var onnx = Path.Combine(work, "int8.onnx");
            OnnxExport.FromDsz(DszFile.Read(dszPath), onnx);
            var models = Policies.Select(p => InferenceModel.Load(dszPath, new RuntimeOptions { Threads = threads, Kernels = p.Policy })).ToList();
            var m0 = models[0];
            int sample = m0.InputSize, classes = m0.OutputSize;
            var xs = ModelBenchmarks.Inputs(m0.InputShape, m0.Metadata.GetValueOrDefault(Compression.ModelStore.NormalizationKey), batch);
            var x1 = xs[..sample];
            var y1 = new float[classes];
            var yBig = new float[batch * classes];
            for (int i = 0; i < models.Count; i++)
            {
                engines.Add(ModelEngine.Runtime(Policies[i].Name, models[i]));
                r[$"int8model_{Policies[i].Name}_kernels"] = string.Join(" ", models[i].Layers.Select(l => $"{l.Name}={l.Kernel}"));
            }
            engines.Add(ModelEngine.Ort(onnx, threads, [.. m0.OutputShape]));
            var outs = engines.Select(e => { var y = new float[batch * classes]; e.Run(xs, batch, y); return y; }).ToList();
            r["int8model_int8_vs_float_max_abs_diff"] = (double)MaxAbsDiff(outs[0], outs[1]);
            r["int8model_ort_qdq_vs_int8_max_abs_diff"] = (double)MaxAbsDiff(outs[3], outs[0]);
            log?.WriteLine($"bench models: int8 model {dszPath} ({threads} threads)");
            var one = ModelTiming.Interleaved(engines.Select(e => (Action)(() => e.Run(x1, 1, y1))).ToArray(), seconds);
            var many = ModelTiming.Interleaved(engines.Select(e => (Action)(() => e.Run(xs, batch, yBig))).ToArray(), seconds);
            for (int i = 0; i < engines.Count; i++)
            {
                ModelBenchmarks.Timings(r, $"int8model_{engines[i].Name}", one[i], many[i], batch, engines[i].WeightBytes);
            }
            r["int8model_b1_speedup_int8_vs_float"] = one[1].Median / one[0].Median;
            r[$"int8model_b{batch}_speedup_int8_vs_float"] = many[1].Median / many[0].Median;
            r["int8model_b1_speedup_auto_vs_float"] = one[1].Median / one[2].Median;
            r[$"int8model_b{batch}_speedup_auto_vs_float"] = many[1].Median / many[2].Median;
        }
        finally
        {
            foreach (var e in engines) e.Dispose();
            Directory.Delete(work, recursive: true);
        }
        return r;
    }

    /// <summary>Prints the int8 table.</summary>
    public static void Print(IReadOnlyDictionary<string, object> r, TextWriter w)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        int big = Convert.ToInt32(r["throughput_batch"], inv);
        w.WriteLine($"int8 model, threads {r["threads"]}");
        w.WriteLine($"{"engine",-10} {"b1 us",10} {"spread",7} {"b" + big + " img/s",12} {"weights KB",11}  kernels");
        foreach (var e in Policies.Select(p => p.Name).Append("ort"))
        {
            string p = $"int8model_{e}";
            w.WriteLine(string.Format(inv, "{0,-10} {1,10:F1} {2,7:P0} {3,12:N0} {4,11:N0}  {5}", e == "ort" ? "ort_qdq" : e, r[$"{p}_b1_us"], r[$"{p}_b1_spread"],
                r[$"{p}_b{big}_images_per_second"], Convert.ToDouble(r[$"{p}_weight_bytes"], inv) / 1024, r.GetValueOrDefault($"{p}_kernels", "")));
        }
        w.WriteLine(string.Format(inv, "int8 vs float: b1 {0:F2}x, b{1} {2:F2}x; auto vs float: b1 {3:F2}x, b{1} {4:F2}x; |int8 - float| {5:G2}, |ort_qdq - int8| {6:G2}",
            r["int8model_b1_speedup_int8_vs_float"], big, r[$"int8model_b{big}_speedup_int8_vs_float"], r["int8model_b1_speedup_auto_vs_float"],
            r[$"int8model_b{big}_speedup_auto_vs_float"], r["int8model_int8_vs_float_max_abs_diff"], r["int8model_ort_qdq_vs_int8_max_abs_diff"]));
    }

    private static float MaxAbsDiff(float[] a, float[] b) => a.Zip(b, (u, v) => MathF.Abs(u - v)).Max();
}

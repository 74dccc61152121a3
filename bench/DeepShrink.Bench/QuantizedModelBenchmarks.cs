using DeepShrink.Nn.IO;
using DeepShrink.Core;
using DeepShrink.Format;
using DeepShrink.Onnx;
using DeepShrink.Runtime;

namespace DeepShrink.Bench;

/// <summary>Which kind of quantised model a <see cref="QuantizedModelBenchmarks"/> run times (key prefix and engine names).</summary>
/// <param name="Prefix">Key prefix: <c>int8model</c> or <c>binmodel</c>.</param>
/// <param name="Engine">Name of the compressed-kernel engine: <c>int8</c> or <c>binary</c>.</param>
/// <param name="OrtName">Name of the ONNX Runtime engine: <c>ort_qdq</c> (QDQ export) or <c>ort</c>.</param>
/// <param name="Label">Words for logs and errors.</param>
public sealed record QuantizedModelKind(string Prefix, string Engine, string OrtName, string Label)
{
    /// <summary>int8-ptq / int8-qat models: int8 GEMM and conv kernels; ONNX Runtime on the QDQ export.</summary>
    public static readonly QuantizedModelKind Int8 = new("int8model", "int8", "ort_qdq", "int8 model");

    /// <summary>bnn / xnor / binary-connect models: XNOR-popcount and binary-weight kernels.</summary>
    public static readonly QuantizedModelKind Binary = new("binmodel", "binary", "ort", "binary model");
}

/// <summary>
/// A quantised .dsz (int8-ptq / int8-qat, or bnn / xnor / binary-connect) in our runtime: its integer or bit kernels
/// vs the float simulation of the same file vs the load-time choice, and ONNX Runtime on its export; batch-1 latency
/// and batch-64 throughput in one process, interleaved (<see cref="ModelTiming"/>), the same thread count everywhere.
/// </summary>
/// <remarks>
/// Engines (key fragment): <c>int8</c> / <c>binary</c> = <see cref="KernelPolicy.Compressed"/> (every such layer on
/// its kernel), <c>float</c> = <see cref="KernelPolicy.Dense"/> (weights decoded to float32, the input quantisation
/// or binarisation simulated in float), <c>auto</c> = <see cref="KernelPolicy.Auto"/> (per layer, whichever was
/// faster at load), <c>ort_qdq</c> / <c>ort</c> = ONNX Runtime on <see cref="OnnxExport.FromDsz"/>'s model.
/// </remarks>
public static class QuantizedModelBenchmarks
{
    /// <summary>Runs the comparison on <paramref name="dszPath"/>; keys are <c>{kind.Prefix}_*</c> (docs/CLI.md).</summary>
    public static IReadOnlyDictionary<string, object> Run(QuantizedModelKind kind, string dszPath, int threads, double seconds, int batch = 64, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(kind);
        (string Name, KernelPolicy Policy)[] policies = [(kind.Engine, KernelPolicy.Compressed), ("float", KernelPolicy.Dense), ("auto", KernelPolicy.Auto)];
        if (!File.Exists(dszPath)) throw new FileNotFoundException($"{kind.Label} not found: {dszPath}", dszPath);
        threads = threads > 0 ? threads : Parallelism.Degree;
        var r = new Dictionary<string, object>(StringComparer.Ordinal) { ["threads"] = threads, ["throughput_batch"] = batch };
        var work = Directory.CreateTempSubdirectory("dsbench-" + kind.Engine + "-").FullName;
        string pre = kind.Prefix, eng = kind.Engine;
        var engines = new List<ModelEngine>();
        try
        {
            var onnx = Path.Combine(work, "model.onnx");
            OnnxExport.FromDsz(DszFile.Read(dszPath), onnx);
            var models = policies.Select(p => InferenceModel.Load(dszPath, new RuntimeOptions { Threads = threads, Kernels = p.Policy })).ToList();
            var m0 = models[0];
            int sample = m0.InputSize, classes = m0.OutputSize;
            var xs = ModelBenchmarks.Inputs(m0.InputShape, m0.Metadata.GetValueOrDefault(ModelIO.NormalizationKey), batch);
            var x1 = xs[..sample];
            var y1 = new float[classes];
            var yBig = new float[batch * classes];
            for (int i = 0; i < models.Count; i++)
            {
                engines.Add(ModelEngine.Runtime(policies[i].Name, models[i]));
                r[$"{pre}_{policies[i].Name}_kernels"] = string.Join(" ", models[i].Layers.Select(l => $"{l.Name}={l.Kernel}"));
            }
            engines.Add(ModelEngine.Ort(onnx, threads, [.. m0.OutputShape]));
            var outs = engines.Select(e => { var y = new float[batch * classes]; e.Run(xs, batch, y); return y; }).ToList();
            r[$"{pre}_{eng}_vs_float_max_abs_diff"] = (double)MaxAbsDiff(outs[0], outs[1]);
            r[$"{pre}_{kind.OrtName}_vs_{eng}_max_abs_diff"] = (double)MaxAbsDiff(outs[3], outs[0]);
            log?.WriteLine($"bench models: {kind.Label} {dszPath} ({threads} threads)");
            var one = ModelTiming.Interleaved(engines.Select(e => (Action)(() => e.Run(x1, 1, y1))).ToArray(), seconds);
            var many = ModelTiming.Interleaved(engines.Select(e => (Action)(() => e.Run(xs, batch, yBig))).ToArray(), seconds);
            for (int i = 0; i < engines.Count; i++)
            {
                ModelBenchmarks.Timings(r, $"{pre}_{engines[i].Name}", one[i], many[i], batch, engines[i].WeightBytes);
            }
            r[$"{pre}_b1_speedup_{eng}_vs_float"] = one[1].Median / one[0].Median;
            r[$"{pre}_b{batch}_speedup_{eng}_vs_float"] = many[1].Median / many[0].Median;
            r[$"{pre}_b1_speedup_auto_vs_float"] = one[1].Median / one[2].Median;
            r[$"{pre}_b{batch}_speedup_auto_vs_float"] = many[1].Median / many[2].Median;
        }
        finally
        {
            foreach (var e in engines) e.Dispose();
            Directory.Delete(work, recursive: true);
        }
        return r;
    }

    /// <summary>Prints the table of a <see cref="Run"/>.</summary>
    public static void Print(QuantizedModelKind kind, IReadOnlyDictionary<string, object> r, TextWriter w)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        int big = Convert.ToInt32(r["throughput_batch"], inv);
        string pre = kind.Prefix, eng = kind.Engine;
        w.WriteLine($"{kind.Label}, threads {r["threads"]}");
        w.WriteLine($"{"engine",-10} {"b1 us",10} {"spread",7} {"b" + big + " img/s",12} {"weights KB",11}  kernels");
        foreach (var e in new[] { eng, "float", "auto", "ort" })
        {
            string p = $"{pre}_{e}";
            w.WriteLine(string.Format(inv, "{0,-10} {1,10:F1} {2,7:P0} {3,12:N0} {4,11:N0}  {5}", e == "ort" ? kind.OrtName : e, r[$"{p}_b1_us"], r[$"{p}_b1_spread"],
                r[$"{p}_b{big}_images_per_second"], Convert.ToDouble(r[$"{p}_weight_bytes"], inv) / 1024, r.GetValueOrDefault($"{p}_kernels", "")));
        }
        w.WriteLine(string.Format(inv, "{7} vs float: b1 {0:F2}x, b{1} {2:F2}x; auto vs float: b1 {3:F2}x, b{1} {4:F2}x; |{7} - float| {5:G2}, |{8} - {7}| {6:G2}",
            r[$"{pre}_b1_speedup_{eng}_vs_float"], big, r[$"{pre}_b{big}_speedup_{eng}_vs_float"], r[$"{pre}_b1_speedup_auto_vs_float"],
            r[$"{pre}_b{big}_speedup_auto_vs_float"], r[$"{pre}_{eng}_vs_float_max_abs_diff"], r[$"{pre}_{kind.OrtName}_vs_{eng}_max_abs_diff"], eng, kind.OrtName));
    }

    private static float MaxAbsDiff(float[] a, float[] b) => a.Zip(b, (u, v) => MathF.Abs(u - v)).Max();
}

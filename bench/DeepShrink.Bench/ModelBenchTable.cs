using System.Globalization;

namespace DeepShrink.Bench;

/// <summary>Human-readable tables of <see cref="ModelBenchmarks.Run"/> results.</summary>
public static class ModelBenchTable
{
    private static readonly string[] Engines = ["runtime", "nn", "runtime_dense", "ort"];

    /// <summary>Writes one table per model, the FC-layer table and the summary ratios.</summary>
    public static void Print(IReadOnlyDictionary<string, object> r, TextWriter w)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(w);
        var inv = CultureInfo.InvariantCulture;
        string big = r.TryGetValue("throughput_batch", out var b) ? Convert.ToString(b, inv)! : "64";
        w.WriteLine($"threads {r.GetValueOrDefault("threads")}, inputs: {r.GetValueOrDefault("inputs")}");
        foreach (var model in new[] { "lenet300", "lenet5" })
        {
            if (!r.ContainsKey($"{model}_runtime_b1_us")) continue;
            w.WriteLine();
            w.WriteLine($"{model,-14} {"b1 us",10} {"spread",7} {"b" + big + " img/s",12} {"weights KB",11} {"heap KB",9} {"RSS KB",9}");
            foreach (var e in Engines)
            {
                string p = $"{model}_{e}";
                w.WriteLine(string.Format(inv, "{0,-14} {1,10:F1} {2,7:P0} {3,12:N0} {4,11:N0} {5,9:N0} {6,9:N0}", e,
                    r[$"{p}_b1_us"], r[$"{p}_b1_spread"], r[$"{p}_b{big}_images_per_second"],
                    Convert.ToDouble(r[$"{p}_weight_bytes"], inv) / 1024, Convert.ToDouble(r[$"{p}_managed_bytes"], inv) / 1024,
                    Convert.ToDouble(r[$"{p}_working_set_bytes"], inv) / 1024));
            }
            w.WriteLine(string.Format(inv, "runtime/ort latency {0:F2}x, batch-{1} time {2:F2}x; |runtime - decoded| {3:G2}, |ort - nn| {4:G2}",
                r[$"{model}_b1_vs_ort"], big, r[$"{model}_b{big}_vs_ort"], r[$"{model}_runtime_vs_decoded_max_abs_diff"], r[$"{model}_ort_vs_nn_max_abs_diff"]));
        }
        var fc = r.Keys.Where(k => k.StartsWith("fc_weights_", StringComparison.Ordinal)).Select(k => k["fc_weights_".Length..]).ToList();
        if (fc.Count > 0)
        {
            w.WriteLine();
            w.WriteLine($"{"fc layer (b1)",-16} {"weights",9} {"density",8} {"dense us",9} {"nn us",8} {"sparse us",10} {"speedup",8}");
            foreach (var s in fc)
                w.WriteLine(string.Format(inv, "{0,-16} {1,9:N0} {2,8:P1} {3,9:F2} {4,8:F2} {5,10:F2} {6,7:F1}x", s, r[$"fc_weights_{s}"], r[$"fc_density_{s}"],
                    r[$"fc_b1_dense_kernel_us_{s}"], r[$"fc_b1_nn_linear_us_{s}"], r[$"fc_b1_compressed_us_{s}"], r[$"fc_b1_speedup_{s}"]));
            if (r.TryGetValue("fc_b1_speedup_min", out var min))
                w.WriteLine(string.Format(inv, "slowest speedup over FC layers >= {0:N0} weights: {1:F1}x (vs the faster dense path)", ModelBenchmarks.MinFcWeightsForSpeedup, min));
        }
        if (r.TryGetValue("train_images_per_second_lenet300", out var t3))
        {
            w.WriteLine();
            w.WriteLine(string.Format(inv, "training (batch 64): lenet-300-100 {0:N0} img/s", t3));
            if (r.TryGetValue("train_images_per_second_lenet5", out var t5))
                w.WriteLine(string.Format(inv, "training (batch 64): lenet-5 {0:N0} img/s, epoch of 60,000 about {1:F0} s", t5, r["lenet5_epoch_seconds_estimate"]));
        }
    }
}

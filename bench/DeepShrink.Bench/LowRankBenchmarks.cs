using System.Globalization;
using DeepShrink.Compression.LowRank;
using DeepShrink.Core;
using DeepShrink.Format;

namespace DeepShrink.Bench;

/// <summary>
/// Low-rank numerics: SVD, Tucker-2 and CP timings (single thread, thread CPU time so the shared machine's load does not inflate them; median of repeats) with their speedup
/// over the one-sided Jacobi reference measured in the same run, and reconstruction error against rank on
/// the linear layers of a trained checkpoint (<c>deepshrink bench lowrank --model m.safetensors</c>).
/// </summary>
public static class LowRankBenchmarks
{
    /// <summary>Ranks reported for the error-versus-rank table (clipped to each layer's max rank).</summary>
    public static readonly int[] TableRanks = { 5, 10, 20, 30, 50, 75, 100, 150, 200, 300 };

    /// <summary>Runs the measurements; <paramref name="checkpoint"/> (optional) adds the error-versus-rank rows.</summary>
    public static IReadOnlyList<(string Key, object Value)> Run(string? checkpoint, int repeats = 5)
    {
        var m = new List<(string, object)>();
        var rng = new Rng(2026);
        var a784 = Gaussian(rng, 784 * 300);
        var svd = BenchStats.Measure(() => Svd.Thin(a784, 784, 300), repeats, 0.1, 0, BenchClock.ThreadCpu);
        m.Add(("svd_784x300_ms", Ms(svd.Median)));
        m.Add(("svd_784x300_spread", Math.Round(svd.Spread, 3)));
        double t0 = BenchClocks.Now(BenchClock.ThreadCpu);
        var jac = SvdReference.Values(a784, 784, 300);
        double jacobi = BenchClocks.Now(BenchClock.ThreadCpu) - t0;
        m.Add(("svd_784x300_jacobi_reference_ms", Ms(jacobi)));
        m.Add(("svd_784x300_speedup_vs_jacobi", Math.Round(jacobi / svd.Median, 1)));
        var s = Svd.Thin(a784, 784, 300).S;
        m.Add(("svd_784x300_max_rel_diff_vs_jacobi", Math.Abs(s.Zip(jac, (x, y) => Math.Abs(x - y)).Max() / jac[0]).ToString("E1", CultureInfo.InvariantCulture)));

        var a4608 = Gaussian(rng, 4608 * 512);
        var big = BenchStats.Measure(() => Svd.Thin(a4608, 4608, 512), Math.Max(1, repeats / 2), 0, 0, BenchClock.ThreadCpu);
        m.Add(("svd_4608x512_ms", Ms(big.Median)));

        var w = Gaussian(rng, 128 * 128 * 9).Select(x => (float)x).ToArray();
        var conv = FactorLayer.Conv(w, new[] { 128, 128, 3, 3 }, padding: (1, 1));
        Factorization? tucker = null, cp = null;
        var tk = BenchStats.Measure(() => tucker = Tucker2.Decompose(conv, 64, 64, maxIterations: 10), repeats, 0, 0, BenchClock.ThreadCpu);
        m.Add(("tucker2_128x128x3x3_r64_hooi10_ms", Ms(tk.Median)));
        m.Add(("tucker2_128x128x3x3_r64_rel_error", Math.Round(tucker!.RelativeError, 4)));
        var cps = BenchStats.Measure(() => cp = CpConv.Decompose(conv, 64, maxIterations: 50), Math.Max(1, repeats / 2), 0, 0, BenchClock.ThreadCpu);
        m.Add(("cp_128x128x3x3_r64_als50_ms", Ms(cps.Median)));
        m.Add(("cp_128x128x3x3_r64_rel_error", Math.Round(cp!.RelativeError, 4)));
        var sp = BenchStats.Measure(() => SpatialSvd.Decompose(conv, 128), repeats, 0, 0, BenchClock.ThreadCpu);
        m.Add(("spatial_svd_128x128x3x3_k128_ms", Ms(sp.Median)));

        if (checkpoint is not null) AddErrorTable(m, checkpoint);
        return m;
    }

    private static void AddErrorTable(List<(string, object)> m, string checkpoint)
    {
        var file = SafetensorsReader.Read(checkpoint);
        foreach (var (name, t) in file.Tensors.Where(kv => kv.Key.EndsWith(".weight", StringComparison.Ordinal) && kv.Value.Shape.Count == 2).OrderBy(kv => kv.Key))
        {
            int o = t.Shape[0], i = t.Shape[1];
            var layer = FactorLayer.Linear(t.ToFloatArray(), o, i);
            string key = name[..^".weight".Length];
            var sv = Svd.Values(Svd.ToDouble(layer.Weight), o, i);
            var errors = LinearSvd.ErrorByRank(sv);
            foreach (int r in TableRanks.Where(r => r <= sv.Length))
            {
                m.Add(($"{key}_rank{r}_rel_error", Math.Round(errors[r], 4)));
                m.Add(($"{key}_rank{r}_param_ratio", Math.Round((double)layer.Parameters / LinearSvd.Cost(layer, r, CostKind.Parameters), 2)));
            }
            foreach (double e in new[] { 0.9, 0.99 })
                m.Add(($"{key}_energy{e.ToString(CultureInfo.InvariantCulture)}_rank", RankSelection.ByEnergy(sv, e)));
            var vb = Vbmf.Estimate(sv, o, i);
            m.Add(($"{key}_vbmf_rank", vb.Rank));
        }
        foreach (var (name, t) in file.Tensors.Where(kv => kv.Key.EndsWith(".weight", StringComparison.Ordinal) && kv.Value.Shape.Count == 4).OrderBy(kv => kv.Key))
            AddConvRows(m, name[..^".weight".Length], FactorLayer.Conv(t.ToFloatArray(), t.ShapeArray()));
    }

    /// <summary>Relative error of Tucker-2, CP and the spatial SVD of a trained conv at rank fractions 1/4, 1/2, 3/4 and the VBMF ranks.</summary>
    private static void AddConvRows(List<(string, object)> m, string key, FactorLayer conv)
    {
        int o = conv.OutChannels, c = conv.WeightShape[1];
        if (c < 2) return; // nothing to factor on the channel modes
        foreach (double f in new[] { 0.25, 0.5, 0.75 })
        {
            int ro = Math.Max(1, (int)Math.Round(f * o)), ri = Math.Max(1, (int)Math.Round(f * c));
            var tucker = Tucker2.Decompose(conv, ro, ri);
            m.Add(($"{key}_tucker2_{ro}x{ri}_rel_error", Math.Round(tucker.RelativeError, 4)));
            m.Add(($"{key}_tucker2_{ro}x{ri}_param_ratio", Math.Round(tucker.CompressionRatio, 2)));
            int r = Math.Max(1, (int)Math.Round(f * Math.Max(o, c)));
            var cp = CpConv.Decompose(conv, r, maxIterations: 200);
            m.Add(($"{key}_cp_r{r}_rel_error", Math.Round(cp.RelativeError, 4)));
            m.Add(($"{key}_cp_r{r}_param_ratio", Math.Round(cp.CompressionRatio, 2)));
            int k = Math.Max(1, (int)Math.Round(f * SpatialSvd.MaxRank(conv)));
            var sp = SpatialSvd.Decompose(conv, k);
            m.Add(($"{key}_spatial_k{k}_rel_error", Math.Round(sp.RelativeError, 4)));
            m.Add(($"{key}_spatial_k{k}_param_ratio", Math.Round(sp.CompressionRatio, 2)));
        }
        var (vo, vi) = Tucker2.VbmfRanks(conv);
        m.Add(($"{key}_tucker2_vbmf_ranks", $"{vo}x{vi}"));
        m.Add(($"{key}_tucker2_vbmf_rel_error", Math.Round(Tucker2.Decompose(conv, vo, vi).RelativeError, 4)));
    }

    /// <summary>Two-column text table of the metrics.</summary>
    public static string Format(IReadOnlyList<(string Key, object Value)> metrics)
        => string.Concat(metrics.Select(kv => $"{kv.Key,-42} {Convert.ToString(kv.Value, CultureInfo.InvariantCulture)}\n"));

    private static double Ms(double seconds) => Math.Round(seconds * 1e3, 1);

    private static double[] Gaussian(Rng rng, int n)
    {
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = rng.NextGaussian();
        return a;
    }
}

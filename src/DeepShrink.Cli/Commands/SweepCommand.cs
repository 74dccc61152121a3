using System.CommandLine;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Sweep;
using DeepShrink.Sweep.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DeepShrink.Cli.Commands;

/// <summary>The <c>sweep</c> verb: a grid of compress+evaluate jobs, embedded or on an Orleans cluster; the <c>worker</c> verb: a silo.</summary>
public static class SweepCommand
{
    /// <summary>Builds the sweep command.</summary>
    public static Command Create()
    {
        var spec = new Option<string>("--spec") { Description = "Sweep spec (YAML: model, dataset, recipe, axes; see docs/CLI.md)", Required = true };
        var output = new Option<string>("--out") { Description = "Results folder (points/ID.json + .dsz, summary.csv, pareto.csv/json); results already there are kept and not rerun", Required = true };
        var workers = new Option<int?>("--workers") { Description = "Jobs at once (embedded default: cores / threads_per_job; cluster default: silos x worker_slots)" };
        var cluster = new Option<string?>("--cluster") { Description = "Cluster config (YAML): run the jobs on the workers of that cluster" };
        var json = CommonOptions.Json();
        var cmd = new Command("sweep", "Run a grid of compress+evaluate jobs (embedded, or on an Orleans cluster) and write per-point results, a CSV and the Pareto front");
        foreach (var o in new Option[] { spec, output, workers, cluster, json }) cmd.Options.Add(o);
        cmd.SetHandler(pr =>
        {
            var w = pr.GetValue(workers);
            if (w is int n && (n < 1 || n > 4096)) throw new CliException("--workers must be in [1, 4096]", 2);
            SweepReport report;
            try
            {
                var plan = SweepPlan.Create(SweepSpec.Load(pr.GetValue(spec)!));
                var results = new SweepResults(pr.GetValue(output)!);
                var cfgPath = pr.GetValue(cluster);
                report = cfgPath is null
                    ? Sweeps.RunEmbeddedAsync(plan, results, w, Console.WriteLine).GetAwaiter().GetResult()
                    : RunOnCluster(ClusterConfig.Load(cfgPath), plan, results, w);
            }
            catch (SweepSpecException e) { throw new CliException(e.Message, 2); }
            Console.WriteLine($"{report.Results.Count}/{report.Points} points ({report.Reused} reused, {report.Ran} run) in {report.Seconds:F1} s; Pareto front (bytes, accuracy, latency; points within budget): "
                + (report.Pareto.Count == 0 ? "empty, no point kept its accuracy budget"
                   : string.Join(", ", report.Pareto.Select(p => $"#{p.Index} {p.CompressedBytes:N0} B {p.CompressedAccuracy:P2} {p.LatencyMs:F3} ms"))));
            new JsonReport().Set("points", report.Points).Set("reused", report.Reused).Set("ran", report.Ran).Set("failed", report.Failed.Count)
                .Set("seconds", Math.Round(report.Seconds, 2)).Set("out", pr.GetValue(output))
                .Set("pareto", JsonReport.ToNode(report.Pareto.Select(p => (object)p.Id).ToList()))
                .WriteIfRequested(pr.GetValue(json));
            if (report.Failed.Count > 0)
                throw new CliException($"{report.Failed.Count} of {report.Points} points failed (first: point {report.Failed[0].Index}: {report.Failed[0].Error}); the others are in {pr.GetValue(output)}; rerun to retry the failed ones");
            return 0;
        });
        return cmd;
    }

    private static SweepReport RunOnCluster(ClusterConfig cfg, SweepPlan plan, SweepResults results, int? workers)
    {
        using var host = WorkerHost.BuildClient(cfg);
        try { host.StartAsync().GetAwaiter().GetResult(); }
        catch (Exception e) { throw new CliException($"cannot connect to the cluster ({cfg.Clustering}, cluster id {cfg.ClusterId}): {e.Message}"); }
        try
        {
            var client = host.Services.GetRequiredService<IClusterClient>();
            int slots = cfg.WorkerSlots ?? Math.Max(1, Environment.ProcessorCount / plan.Spec.ThreadsPerJob);
            return Sweeps.RunClusterAsync(plan, results, client, slots, workers, Console.WriteLine).GetAwaiter().GetResult();
        }
        finally { host.StopAsync().GetAwaiter().GetResult(); }
    }

    /// <summary>Builds the worker command (a silo that accepts sweep jobs until stopped).</summary>
    public static Command CreateWorker()
    {
        var cluster = new Option<string>("--cluster") { Description = "Cluster config (YAML)", Required = true };
        var siloPort = new Option<int?>("--silo-port") { Description = "Silo-to-silo port (default: the config's primary_silo_port)" };
        var gatewayPort = new Option<int?>("--gateway-port") { Description = "Client gateway port (default: the config's first gateway)" };
        var slots = new Option<int?>("--slots") { Description = "Jobs at once (default: the config's worker_slots, else all cores)" };
        var cmd = new Command("worker", "Start a sweep worker (an Orleans silo) that runs jobs for `sweep --cluster` until stopped (Ctrl-C / SIGTERM)");
        foreach (var o in new Option[] { cluster, siloPort, gatewayPort, slots }) cmd.Options.Add(o);
        cmd.SetHandler(pr =>
        {
            ClusterConfig cfg;
            try { cfg = ClusterConfig.Load(pr.GetValue(cluster)!); }
            catch (SweepSpecException e) { throw new CliException(e.Message, 2); }
            int sp = pr.GetValue(siloPort) ?? cfg.PrimarySiloPort, gp = pr.GetValue(gatewayPort) ?? cfg.Gateways[0];
            int n = pr.GetValue(slots) ?? cfg.WorkerSlots ?? Environment.ProcessorCount;
            if (n < 1) throw new CliException("--slots must be >= 1", 2);
            foreach (var (name, p) in new[] { ("--silo-port", sp), ("--gateway-port", gp) })
                if (p is < 1 or > 65535) throw new CliException($"{name} must be a port in [1, 65535]", 2);
            using var host = WorkerHost.BuildSilo(cfg, sp, gp, n);
            try { host.StartAsync().GetAwaiter().GetResult(); }
            catch (Exception e) { throw new CliException($"worker could not join the cluster ({cfg.Clustering}, silo port {sp}, gateway port {gp}): {e.Message}"); }
            Console.WriteLine($"worker {cfg.AdvertisedIp}:{sp} (gateway {gp}) in cluster {cfg.ClusterId}, {n} slot(s), cache {cfg.Cache}; stop with Ctrl-C");
            host.WaitForShutdownAsync().GetAwaiter().GetResult();
            return 0;
        });
        return cmd;
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using DeepShrink.Sweep.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit.Abstractions;

namespace DeepShrink.Sweep.Tests;

/// <summary>
/// Issue 19's acceptance: two silos and a client on loopback run a 12-point sweep; one silo is killed while it
/// runs a job; every point's result arrives exactly once and equals the embedded run's (same seeds, one thread per job).
/// Also: a sweep stopped part-way (its client died) resumes from the results already written.
/// </summary>
public class ClusterSweepTests(ITestOutputHelper output, SweepFixture fixture) : IClassFixture<SweepFixture>
{
    private readonly SweepFixture _f = fixture;

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int p = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return p;
    }

    private void Log(string s) { lock (this) output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {s}"); }

    /// <summary>Starts two one-slot silos (caches CACHE1 / CACHE2 in the fixture) and a client; the caller owns all three (silo 2 is the one a test kills).</summary>
    private async Task<(IHost Silo1, IHost Silo2, IHost Client)> StartTwoSilosAndClientAsync(ClusterConfig cfg, int s1, int g1, int s2, int g2, string cache)
    {
        var silo1 = WorkerHost.BuildSilo(cfg with { CacheDir = _f.Out(cache + "1") }, s1, g1, slots: 1);
        await silo1.StartAsync();
        var silo2 = WorkerHost.BuildSilo(cfg with { CacheDir = _f.Out(cache + "2") }, s2, g2, slots: 1);
        await silo2.StartAsync();
        var client = WorkerHost.BuildClient(cfg);
        await client.StartAsync();
        return (silo1, silo2, client);
    }

    [Fact]
    public async Task KilledSiloLosesNoResultAndClusterResultsEqualEmbeddedOnes()
    {
        var plan = _f.Plan();
        var embedded = await Sweeps.RunEmbeddedAsync(plan, new SweepResults(_f.Out("embedded")), workers: 2, Log);
        Assert.Empty(embedded.Failed);
        Assert.Equal(12, embedded.Results.Count);

        int s1 = FreePort(), s2 = FreePort(), g1 = FreePort(), g2 = FreePort();
        var cfg = new ClusterConfig
        {
            ClusterId = "test-" + Guid.NewGuid().ToString("N")[..6], PrimarySiloPort = s1, Gateways = [g1, g2],
            CacheDir = _f.Out("cache"), ProbeTimeoutSeconds = 1,
        };
        var (silo1, silo2, clientHost) = await StartTwoSilosAndClientAsync(cfg, s1, g1, s2, g2, "cache");
        using var silo1Scope = silo1;
        using var clientScope = clientHost;
        var client = clientHost.Services.GetRequiredService<IClusterClient>();

        var results = new SweepResults(_f.Out("cluster"));
        var worker2 = silo2.Services.GetRequiredService<WorkerService>();
        var sweep = Sweeps.RunClusterAsync(plan, results, client, slotsPerSilo: 1, workers: 2, Log);
        // Kill silo 2 while it runs a job, after some results came back.
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (!(results.Done.Count >= 2 && worker2.Running > 0) && !sweep.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.False(sweep.IsCompleted, "the sweep ended before a silo could be killed");
        Assert.True(worker2.Running > 0, "silo 2 runs a job at the kill");
        int doneAtKill = results.Done.Count, ranOn2 = worker2.Completed;
        Log($"killing silo 2 ({worker2.Name}) with {doneAtKill} results in, {ranOn2} completed there");
        await silo2.StopAsync(new CancellationToken(canceled: true));   // ungraceful: no hand-over
        silo2.Dispose();
        var report = await sweep.WaitAsync(TimeSpan.FromMinutes(5));

        Assert.Empty(report.Failed);
        Assert.Equal(12, report.Results.Count);
        Assert.Equal(12, report.Ran);
        Assert.Equal(12, Directory.GetFiles(results.PointsDir, "*.json").Length);   // each point written once
        Assert.Equal(12, Directory.GetFiles(results.PointsDir, "*.dsz").Length);
        Assert.True(ranOn2 >= 1, "silo 2 finished jobs before it was killed");
        Assert.Contains(report.Results, r => r.Worker == worker2.Name);
        var byId = embedded.Results.ToDictionary(r => r.Id);
        foreach (var r in report.Results)
        {
            Assert.True(r.Equivalent(byId[r.Id]), $"point {r.Index}: cluster result differs from the embedded one");
            Assert.Equal(File.ReadAllBytes(new SweepResults(_f.Out("embedded")).DszPathOf(r)), File.ReadAllBytes(results.DszPathOf(r)));
        }
        Assert.NotEmpty(embedded.Pareto);
        await clientHost.StopAsync();
        await silo1.StopAsync();
    }

    [Fact]
    public async Task StoppedSweepResumesFromTheResultsAlreadyWritten()
    {
        var plan = _f.Plan();
        var outDir = _f.Out("resume");
        using var cts = new CancellationTokenSource();
        var first = new SweepResults(outDir);
        var run = Sweeps.RunEmbeddedAsync(plan, first, workers: 1, s => { Log(s); if (first.Done.Count >= 3) cts.Cancel(); }, cts.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        int kept = Directory.GetFiles(Path.Combine(outDir, "points"), "*.json").Length;
        Assert.InRange(kept, 3, 11);
        var report = await Sweeps.RunEmbeddedAsync(plan, new SweepResults(outDir), workers: 1, Log);
        Assert.Equal(kept, report.Reused);
        Assert.Equal(12 - kept, report.Ran);
        Assert.Equal(12, report.Results.Count);
        Assert.True(File.Exists(Path.Combine(outDir, "summary.csv")));
        Assert.Equal(13, File.ReadAllLines(Path.Combine(outDir, "summary.csv")).Length);
    }

    /// <summary>
    /// The membership provider real deployments use: two silos and a client that find each other only through a
    /// live Redis membership table (no gateway list), one silo killed mid-sweep, every result once and equal to
    /// the embedded run's. Needs <c>redis-server</c> on PATH (.ci/run installs Debian's); without it the test
    /// fails under CI and is skipped elsewhere.
    /// </summary>
    [Fact]
    public async Task RedisMembershipTableRunsTheSweepAndSurvivesASiloLoss()
    {
        string? server = Environment.GetEnvironmentVariable("PATH")?.Split(':')
            .Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists);
        if (server is null)
        {
            Assert.True(Environment.GetEnvironmentVariable("CI") is null, "redis-server is not installed (.ci/run installs the Debian package redis-server)");
            Log("redis-server not found: skipped outside CI");
            return;
        }
        int port = FreePort();
        using var redis = Process.Start(new ProcessStartInfo(server, $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no")
            { RedirectStandardOutput = true, UseShellExecute = false })!;
        try
        {
            var up = DateTime.UtcNow.AddSeconds(20);
            while (true)
            {
                try { using var probe = new TcpClient(); await probe.ConnectAsync(IPAddress.Loopback, port); break; }
                catch (SocketException) when (DateTime.UtcNow < up) { await Task.Delay(100); }
            }
            var plan = _f.Plan();
            var embedded = await Sweeps.RunEmbeddedAsync(plan, new SweepResults(_f.Out("redis-embedded")), workers: 2, Log);
            var cfg = new ClusterConfig
            {
                ClusterId = "redis-" + Guid.NewGuid().ToString("N")[..6], Clustering = ClusteringKind.Redis,
                ConnectionString = $"127.0.0.1:{port}", Gateways = [], ProbeTimeoutSeconds = 1,
            };
            int s1 = FreePort(), s2 = FreePort(), g1 = FreePort(), g2 = FreePort();
            var (silo1, silo2, clientHost) = await StartTwoSilosAndClientAsync(cfg, s1, g1, s2, g2, "redis-cache");
            using var silo1Scope = silo1;
            using var clientScope = clientHost;
            var results = new SweepResults(_f.Out("redis-cluster"));
            var worker2 = silo2.Services.GetRequiredService<WorkerService>();
            var sweep = Sweeps.RunClusterAsync(plan, results, clientHost.Services.GetRequiredService<IClusterClient>(), slotsPerSilo: 1, workers: 2, Log);
            var deadline = DateTime.UtcNow.AddMinutes(5);
            while (!(results.Done.Count >= 2 && worker2.Running > 0) && !sweep.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.True(worker2.Completed + worker2.Running > 0, "the client found silo 2 through Redis and gave it jobs");
            await silo2.StopAsync(new CancellationToken(canceled: true));
            silo2.Dispose();
            var report = await sweep.WaitAsync(TimeSpan.FromMinutes(5));

            Assert.Empty(report.Failed);
            Assert.Equal(12, report.Results.Count);
            Assert.Equal(12, Directory.GetFiles(results.PointsDir, "*.json").Length);
            var byId = embedded.Results.ToDictionary(r => r.Id);
            foreach (var r in report.Results)
                Assert.True(r.Equivalent(byId[r.Id]), $"point {r.Index}: the Redis cluster's result differs from the embedded one");
            await clientHost.StopAsync();
            await silo1.StopAsync();
        }
        finally
        {
            try { redis.Kill(); } catch (InvalidOperationException) { }
        }
    }
}

using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace DeepShrink.Sweep.Cluster;

/// <summary>Builds silos (workers) and clients from a <see cref="ClusterConfig"/>.</summary>
public static class WorkerHost
{
    /// <summary>A silo listening on <paramref name="siloPort"/> / <paramref name="gatewayPort"/> with <paramref name="slots"/> job slots.</summary>
    public static IHost BuildSilo(ClusterConfig cfg, int siloPort, int gatewayPort, int slots, LogLevel logLevel = LogLevel.Warning)
    {
        var name = $"{cfg.AdvertisedIp}:{siloPort}";
        return new HostBuilder()
            .ConfigureLogging(l => l.SetMinimumLevel(logLevel).AddSimpleConsole(o => o.SingleLine = true))
            .UseOrleans(silo =>
            {
                switch (cfg.Clustering)
                {
                    case ClusteringKind.Localhost:
                        silo.UseLocalhostClustering(siloPort, gatewayPort,
                            siloPort == cfg.PrimarySiloPort ? null : new IPEndPoint(IPAddress.Loopback, cfg.PrimarySiloPort), cfg.ServiceId, cfg.ClusterId);
                        break;
                    case ClusteringKind.AdoNet:
                        silo.UseAdoNetClustering(o => { o.Invariant = cfg.Invariant; o.ConnectionString = cfg.ConnectionString; });
                        break;
                    case ClusteringKind.Redis:
                        silo.UseRedisClustering(cfg.ConnectionString!);
                        break;
                }
                if (cfg.Clustering != ClusteringKind.Localhost)
                {
                    silo.ConfigureEndpoints(IPAddress.Parse(cfg.AdvertisedIp), siloPort, gatewayPort);
                    silo.Configure<ClusterOptions>(o => { o.ClusterId = cfg.ClusterId; o.ServiceId = cfg.ServiceId; });
                }
                // A few machines, not hundreds: vote a silo dead quickly so that its jobs move on.
                silo.Configure<ClusterMembershipOptions>(o =>
                {
                    o.ProbeTimeout = TimeSpan.FromSeconds(cfg.ProbeTimeoutSeconds);
                    o.NumMissedProbesLimit = 2;
                    o.NumVotesForDeathDeclaration = 1;
                    o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
                });
                silo.Services.AddSingleton(sp => new WorkerService(sp.GetRequiredService<IGrainFactory>(), slots, cfg.Cache, name));
            })
            .Build();
    }

    /// <summary>A client of the cluster (started by the caller).</summary>
    public static IHost BuildClient(ClusterConfig cfg, LogLevel logLevel = LogLevel.Warning)
    {
        return new HostBuilder()
            .ConfigureLogging(l => l.SetMinimumLevel(logLevel).AddSimpleConsole(o => o.SingleLine = true))
            .UseOrleansClient(client =>
            {
                switch (cfg.Clustering)
                {
                    case ClusteringKind.Localhost:
                        client.UseLocalhostClustering(cfg.Gateways.ToArray(), cfg.ServiceId, cfg.ClusterId);
                        break;
                    case ClusteringKind.AdoNet:
                        client.UseAdoNetClustering(o => { o.Invariant = cfg.Invariant; o.ConnectionString = cfg.ConnectionString; });
                        break;
                    case ClusteringKind.Redis:
                        client.UseRedisClustering(cfg.ConnectionString!);
                        break;
                }
                if (cfg.Clustering != ClusteringKind.Localhost)
                    client.Configure<ClusterOptions>(o => { o.ClusterId = cfg.ClusterId; o.ServiceId = cfg.ServiceId; });
                // Start, Poll and blob calls are short: a call to a lost silo fails fast and the job moves on.
                client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
            })
            .Build();
    }
}

using System.Globalization;
using System.Net;
using YamlDotNet.RepresentationModel;

namespace DeepShrink.Sweep.Cluster;

/// <summary>How silos find each other (see docs/CLI.md, "cluster config").</summary>
public enum ClusteringKind
{
    /// <summary>Development: all silos and clients on this machine; the primary silo's endpoint is the seed.</summary>
    Localhost,
    /// <summary>Membership table in a database through ADO.NET (PostgreSQL via Npgsql); for real deployments.</summary>
    AdoNet,
    /// <summary>Membership table in Redis; for real deployments.</summary>
    Redis,
}

/// <summary>A cluster config file: membership provider, ids, endpoints, and per-worker settings.</summary>
public sealed record ClusterConfig
{
    public string ClusterId { get; init; } = "deepshrink";
    public string ServiceId { get; init; } = "deepshrink-sweep";
    public ClusteringKind Clustering { get; init; } = ClusteringKind.Localhost;
    /// <summary>Localhost: the primary silo's silo-to-silo port (the first worker started listens there).</summary>
    public int PrimarySiloPort { get; init; } = 11111;
    /// <summary>Localhost: the gateway ports the client connects to.</summary>
    public IReadOnlyList<int> Gateways { get; init; } = [30000];
    /// <summary>AdoNet / Redis: the connection string.</summary>
    public string? ConnectionString { get; init; }
    /// <summary>AdoNet: the ADO.NET invariant name (Npgsql is the one referenced).</summary>
    public string Invariant { get; init; } = "Npgsql";
    /// <summary>AdoNet / Redis: the address silos advertise (default: loopback).</summary>
    public string AdvertisedIp { get; init; } = "127.0.0.1";
    /// <summary>Jobs a worker runs at once (default: cores / threads_per_job).</summary>
    public int? WorkerSlots { get; init; }
    /// <summary>Worker blob cache (default: ~/.cache/deepshrink/blobs).</summary>
    public string? CacheDir { get; init; }
    /// <summary>Seconds without an answer after which a silo is voted dead (small clusters want this short).</summary>
    public double ProbeTimeoutSeconds { get; init; } = 2;

    /// <summary>Resolved cache directory.</summary>
    public string Cache => CacheDir ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "deepshrink", "blobs");

    /// <summary>Reads a config file (YAML); one-line <see cref="SweepSpecException"/> on a problem.</summary>
    public static ClusterConfig Load(string path)
    {
        if (!File.Exists(path)) throw new SweepSpecException($"cluster config not found: {path}");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses config YAML.</summary>
    public static ClusterConfig Parse(string yaml, string source)
    {
        if (YamlTree.Load(yaml, source) is not YamlMappingNode m) throw new SweepSpecException($"{source}: a cluster config is a YAML map");
        var known = new[] { "cluster_id", "service_id", "clustering", "primary_silo_port", "gateways", "connection_string", "invariant",
            "advertised_ip", "worker_slots", "cache_dir", "probe_timeout_seconds" };
        var values = new Dictionary<string, YamlNode>();
        foreach (var (k, v) in m.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "";
            if (!known.Contains(key)) throw new SweepSpecException($"{source}: unknown key '{key}' (known: {string.Join(", ", known)})");
            values[key] = v;
        }
        string? S(string k) => values.TryGetValue(k, out var v) ? (v as YamlScalarNode)?.Value ?? throw new SweepSpecException($"{source}: '{k}' must be a single value") : null;
        int Port(string text, string k) => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int p) && p is > 0 and < 65536
            ? p : throw new SweepSpecException($"{source}: '{k}' must be a port in [1, 65535], got '{text}'");
        var clustering = S("clustering") switch
        {
            null or "localhost" => ClusteringKind.Localhost,
            "adonet" => ClusteringKind.AdoNet,
            "redis" => ClusteringKind.Redis,
            var x => throw new SweepSpecException($"{source}: clustering must be localhost, adonet or redis, got '{x}'"),
        };
        var cfg = new ClusterConfig
        {
            ClusterId = S("cluster_id") ?? "deepshrink",
            ServiceId = S("service_id") ?? "deepshrink-sweep",
            Clustering = clustering,
            PrimarySiloPort = S("primary_silo_port") is { } pp ? Port(pp, "primary_silo_port") : 11111,
            Gateways = values.TryGetValue("gateways", out var g)
                ? (g as YamlSequenceNode)?.Children.Select(c => Port((c as YamlScalarNode)?.Value ?? "", "gateways")).ToList()
                  ?? throw new SweepSpecException($"{source}: 'gateways' must be a list of ports")
                : [30000],
            ConnectionString = S("connection_string"),
            Invariant = S("invariant") ?? "Npgsql",
            AdvertisedIp = S("advertised_ip") ?? "127.0.0.1",
            WorkerSlots = S("worker_slots") is { } ws ? (int.TryParse(ws, out int n) && n >= 1 ? n : throw new SweepSpecException($"{source}: worker_slots must be >= 1")) : null,
            CacheDir = S("cache_dir"),
            ProbeTimeoutSeconds = S("probe_timeout_seconds") is { } pt
                ? (double.TryParse(pt, NumberStyles.Float, CultureInfo.InvariantCulture, out double t) && t > 0 ? t : throw new SweepSpecException($"{source}: probe_timeout_seconds must be > 0"))
                : 2,
        };
        if (clustering != ClusteringKind.Localhost && string.IsNullOrWhiteSpace(cfg.ConnectionString))
            throw new SweepSpecException($"{source}: clustering {S("clustering")} needs a connection_string");
        if (!IPAddress.TryParse(cfg.AdvertisedIp, out _)) throw new SweepSpecException($"{source}: advertised_ip '{cfg.AdvertisedIp}' is not an IP address");
        return cfg;
    }
}

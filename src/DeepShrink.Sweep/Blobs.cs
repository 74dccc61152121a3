using System.Security.Cryptography;

namespace DeepShrink.Sweep;

/// <summary>A needed blob is not available where it was looked for (the client uploads it again).</summary>
public sealed class BlobMissingException(string sha256) : Exception($"blob {sha256} is not available")
{
    public string Sha256 { get; } = sha256;
}

/// <summary>Content hashes of files, and a verified content-addressed cache directory.</summary>
public sealed class BlobCache(string directory)
{
    private readonly object _gate = new();

    /// <summary>Cache directory.</summary>
    public string Directory { get; } = directory;

    /// <summary>Describes a local file by content.</summary>
    public static BlobRef Describe(string path, string? name = null)
    {
        using var f = File.OpenRead(path);
        return new BlobRef(name ?? Path.GetFileName(path), Convert.ToHexStringLower(SHA256.HashData(f)), f.Length);
    }

    /// <summary>SHA-256 of bytes (lower-case hex).</summary>
    public static string Hash(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>
    /// Local path of <paramref name="blob"/>: from the cache when present, else fetched once with <paramref name="fetch"/>,
    /// verified (length and SHA-256) and stored atomically. A cached file is trusted only under its hash name, written after verification.
    /// </summary>
    public string Get(BlobRef blob, Func<string, byte[]?> fetch)
    {
        if (blob.Sha256.Length != 64 || !blob.Sha256.All(Uri.IsHexDigit)) throw new ArgumentException($"not a SHA-256: '{blob.Sha256}'");
        var path = Path.Combine(Directory, blob.Sha256);
        lock (_gate)
        {
            if (File.Exists(path)) return path;
            var data = fetch(blob.Sha256) ?? throw new BlobMissingException(blob.Sha256);
            if (data.LongLength != blob.Bytes || Hash(data) != blob.Sha256)
                throw new InvalidDataException($"blob {blob.Name}: received {data.LongLength} bytes whose hash is not {blob.Sha256}");
            System.IO.Directory.CreateDirectory(Directory);
            Format.AtomicFile.WriteAllBytes(path, data);
            return path;
        }
    }

    /// <summary>
    /// A directory laying out <paramref name="files"/> under their own names (links to the cached blobs), so a
    /// dataset loader finds them as a dataset directory. Named by the hashes, so it is shared by every job on the same data.
    /// </summary>
    public string LayOut(IReadOnlyList<BlobRef> files, Func<BlobRef, string> pathOf)
    {
        var key = Hash(System.Text.Encoding.UTF8.GetBytes(string.Join(";", files.Select(f => f.Name + "=" + f.Sha256))))[..16];
        var dir = Path.Combine(Directory, "sets", key);
        lock (_gate)
        {
            System.IO.Directory.CreateDirectory(dir);
            foreach (var f in files)
            {
                var link = Path.Combine(dir, f.Name);
                if (!File.Exists(link)) File.CreateSymbolicLink(link, pathOf(f));
            }
        }
        return dir;
    }
}

namespace DeepShrink.Cli.Infrastructure;

/// <summary>Atomic file output: write a temp file in the target directory, then rename over the target.</summary>
public static class AtomicWrite
{
    /// <summary>Writes text atomically.</summary>
    public static void WriteAllText(string path, string text) => Write(path, tmp => File.WriteAllText(tmp, text));

    /// <summary>Runs <paramref name="write"/> on a temp path and renames it to <paramref name="path"/> on success.</summary>
    public static void Write(string path, Action<string> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new CliException($"output directory does not exist: {dir}");
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            write(tmp);
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}

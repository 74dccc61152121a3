namespace DeepShrink.Format;

/// <summary>
/// Writes files atomically: the content goes to a temporary file in the destination's directory,
/// is flushed to disk, and then replaces the destination with one rename. Readers see either the
/// old file or the complete new one, and a failed write never leaves a half-written destination.
/// </summary>
public static class AtomicFile
{
    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="content"/>.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content)
    {
        string tmp = TempPathFor(path);
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                fs.Write(content);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>
    /// Atomically replaces <paramref name="path"/> with what <paramref name="write"/> writes to the
    /// stream it is given. If <paramref name="write"/> throws, the destination is left untouched and
    /// the temporary file is removed.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string tmp = TempPathFor(path);
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>
    /// A fresh temporary file name next to <paramref name="path"/> (same directory, so the final
    /// rename stays on one file system): <c>.NAME.PID.RANDOM.tmp</c>. Temporary files that a killed
    /// writer left for the same destination (their process no longer runs) are removed first. For
    /// callers that stage a file and decide later whether to move it into place.
    /// </summary>
    public static string TempPathFor(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no parent directory", nameof(path));
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"cannot write '{path}': directory '{dir}' does not exist");
        if (Directory.Exists(full)) throw new IOException($"cannot write '{path}': it is a directory");
        string prefix = "." + Path.GetFileName(full) + ".";
        RemoveOrphans(dir, prefix);
        return Path.Combine(dir, prefix + Environment.ProcessId + "." + Guid.NewGuid().ToString("N")[..12] + ".tmp");
    }

    /// <summary>Deletes <c>PREFIX.PID.RANDOM.tmp</c> files in <paramref name="dir"/> whose writer process is gone (killed mid-write).</summary>
    private static void RemoveOrphans(string dir, string prefix)
    {
        IEnumerable<string> candidates;
        try { candidates = Directory.EnumerateFiles(dir, prefix + "*.tmp").ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
        foreach (var f in candidates)
        {
            var parts = Path.GetFileName(f)[prefix.Length..].Split('.');
            if (parts.Length == 3 && int.TryParse(parts[0], out int pid) && pid != Environment.ProcessId && !IsRunning(pid)) TryDelete(f);
        }
    }

    private static bool IsRunning(int pid)
    {
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private static void TryDelete(string tmp)
    {
        try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

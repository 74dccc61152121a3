namespace DeepShrink.Cli.Infrastructure;

/// <summary>Checks an output path before any work is done, so a bad path fails fast with one line.</summary>
public static class OutputPath
{
    /// <summary>Throws <see cref="CliException"/> when the directory is missing or the path is a directory.</summary>
    public static void Check(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(dir)) throw new CliException($"output directory does not exist: {dir}");
        if (Directory.Exists(path)) throw new CliException($"output path is a directory: {path}");
    }
}

using System.CommandLine;
using DeepShrink.Cli.Infrastructure;

namespace DeepShrink.Cli.Commands;

/// <summary>The `export` verb.</summary>
public static class ExportCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("export", "(not available yet)");
        cmd.SetHandler(_ => throw new CliException("'export' is not available yet"));
        return cmd;
    }
}

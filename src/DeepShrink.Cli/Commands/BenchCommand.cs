using System.CommandLine;
using DeepShrink.Cli.Infrastructure;

namespace DeepShrink.Cli.Commands;

/// <summary>The `bench` verb.</summary>
public static class BenchCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("bench", "(not available yet)");
        cmd.SetHandler(_ => throw new CliException("'bench' is not available yet"));
        return cmd;
    }
}

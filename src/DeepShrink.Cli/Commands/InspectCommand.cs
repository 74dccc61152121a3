using System.CommandLine;
using DeepShrink.Cli.Infrastructure;

namespace DeepShrink.Cli.Commands;

/// <summary>The `inspect` verb.</summary>
public static class InspectCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("inspect", "(not available yet)");
        cmd.SetHandler(_ => throw new CliException("'inspect' is not available yet"));
        return cmd;
    }
}

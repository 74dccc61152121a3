using System.CommandLine;
using DeepShrink.Cli.Infrastructure;

namespace DeepShrink.Cli.Commands;

/// <summary>The `demo` verb.</summary>
public static class DemoCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("demo", "(not available yet)");
        cmd.SetHandler(_ => throw new CliException("'demo' is not available yet"));
        return cmd;
    }
}

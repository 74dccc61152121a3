using System.CommandLine;
using DeepShrink.Cli.Infrastructure;

namespace DeepShrink.Cli.Commands;

/// <summary>The `compress` verb.</summary>
public static class CompressCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("compress", "(not available yet)");
        cmd.SetHandler(_ => throw new CliException("'compress' is not available yet"));
        return cmd;
    }
}

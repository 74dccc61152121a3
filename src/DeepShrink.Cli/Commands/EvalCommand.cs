using System.CommandLine;
using DeepShrink.Cli.Infrastructure;

namespace DeepShrink.Cli.Commands;

/// <summary>The `eval` verb.</summary>
public static class EvalCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("eval", "(not available yet)");
        cmd.SetHandler(_ => throw new CliException("'eval' is not available yet"));
        return cmd;
    }
}

using System.CommandLine;
using DeepShrink.Cli.Infrastructure;

namespace DeepShrink.Cli.Commands;

/// <summary>The `train` verb.</summary>
public static class TrainCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("train", "(not available yet)");
        cmd.SetHandler(_ => throw new CliException("'train' is not available yet"));
        return cmd;
    }
}

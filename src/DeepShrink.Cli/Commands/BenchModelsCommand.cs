using System.CommandLine;
using DeepShrink.Cli.Infrastructure;

namespace DeepShrink.Cli.Commands;

/// <summary>The <c>bench models</c> sub-verb.</summary>
public static class BenchModelsCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("models", "Model benchmarks (not available yet)");
        cmd.SetHandler(_ => throw new CliException("'bench models' is not available yet"));
        return cmd;
    }
}

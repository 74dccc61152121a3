using System.CommandLine;
using DeepShrink.Cli.Commands;
using DeepShrink.Cli.Infrastructure;

namespace DeepShrink.Cli;

/// <summary>Entry point of the <c>deepshrink</c> command.</summary>
public static class Program
{
    /// <summary>The arguments of the running command (recorded in reports as the exact command).</summary>
    public static IReadOnlyList<string> Arguments { get; private set; } = [];

    /// <summary>Parses the verb and runs it; returns the process exit code.</summary>
    public static int Main(string[] args)
    {
        Arguments = args;
        // Redirected output (logs, CI) gets wide tables instead of 80-column wrapping.
        if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 160;
        var root = new RootCommand("DeepShrink: compress and accelerate deep neural networks (pure .NET).");
        root.Options.Add(CommonOptions.Verbose);
        root.Options.Add(CommonOptions.Threads);
        foreach (var cmd in new[]
        {
            DemoCommand.Create(), TrainCommand.Create(), DistillCommand.Create(), EvalCommand.Create(), CompressCommand.Create(),
            InspectCommand.Create(), ExportCommand.Create(), BenchCommand.Create(), ImportCommand.Create(), FetchCommand.Create(),
            ReportCommand.Create(),
            SweepCommand.Create(), SweepCommand.CreateWorker(),
        })
            root.Subcommands.Add(cmd);

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            Console.Error.WriteLine($"error: {parse.Errors[0].Message} (run with --help for usage)");
            return 2;
        }
        return parse.Invoke();
    }
}

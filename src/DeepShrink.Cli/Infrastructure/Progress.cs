using Spectre.Console;

namespace DeepShrink.Cli.Infrastructure;

/// <summary>
/// Progress output: a Spectre.Console progress bar on an interactive terminal, plain lines when
/// output is redirected (logs, CI).
/// </summary>
public static class Progress
{
    /// <summary>True when stdout is a terminal.</summary>
    public static bool Interactive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="work"/> with a task of <paramref name="total"/> steps; <c>advance(n, text)</c> moves it.</summary>
    public static T Run<T>(string title, double total, Func<Action<double, string?>, T> work)
    {
        if (!Interactive)
        {
            Console.WriteLine(title);
            return work((_, text) => { if (text is not null) Console.WriteLine("  " + text); });
        }
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: Math.Max(total, 1));
                result = work((n, text) =>
                {
                    task.Increment(n);
                    if (text is not null) AnsiConsole.MarkupLine("  " + Markup.Escape(text));
                });
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>Writes one informational line.</summary>
    public static void Line(string text) => Console.WriteLine(text);
}

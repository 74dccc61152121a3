using System.CommandLine;
using DeepShrink.Core;

namespace DeepShrink.Cli.Infrastructure;

/// <summary>Options shared by several verbs, and the error-handling wrapper every verb runs in.</summary>
public static class CommonOptions
{
    /// <summary>--verbose: stack traces on errors.</summary>
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "Print stack traces on errors", Recursive = true };

    /// <summary>--threads N: kernel threads (default: all cores).</summary>
    public static readonly Option<int?> Threads = new("--threads") { Description = "Kernel threads (default: all cores)", Recursive = true };

    /// <summary>Creates a --json FILE option.</summary>
    public static Option<string?> Json() => new("--json") { Description = "Write metrics as JSON to FILE (keys in docs/CLI.md)" };

    /// <summary>Creates a --seed option.</summary>
    public static Option<ulong> Seed(ulong dflt = 42) => new("--seed") { Description = "Random seed", DefaultValueFactory = _ => dflt };

    /// <summary>Creates a --dataset option.</summary>
    public static Option<string> Dataset() => new("--dataset")
    {
        Description = "fashion-mnist (default dir /usr/share/datasets/fashion-mnist), fashion-mnist:DIR, idx:DIR, or imagefolder:DIR (class sub-folders of JPEG/PNG/BMP)",
        DefaultValueFactory = _ => "fashion-mnist",
    };

    /// <summary>Sets the action of <paramref name="cmd"/> to run <paramref name="body"/> with one-line error handling.</summary>
    public static void SetHandler(this Command cmd, Func<ParseResult, int> body)
    {
        cmd.SetAction(pr =>
        {
            bool verbose = pr.GetValue(Verbose);
            try
            {
                var threads = pr.GetValue(Threads);
                if (threads is int t)
                {
                    if (t < 1) throw new CliException("--threads must be >= 1", 2);
                    Parallelism.Degree = t;
                }
                return body(pr);
            }
            catch (Exception e) when (!verbose && IsUserError(e))
            {
                Console.Error.WriteLine($"error: {OneLine(e.Message)}");
                return e is CliException ce ? ce.ExitCode : 1;
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"error: {(IsUserError(e) ? "" : "internal error: " + e.GetType().Name + ": ")}{OneLine(e.Message)}");
                if (verbose) Console.Error.WriteLine(e);
                else Console.Error.WriteLine("(run with --verbose for details)");
                return e is CliException ce ? ce.ExitCode : 1;
            }
        });
    }

    private static bool IsUserError(Exception e) => e is CliException or ArgumentException or FormatException or IOException
        or UnauthorizedAccessException or InvalidOperationException or NotSupportedException or InvalidDataException
        || e.GetType().Name.EndsWith("FormatException", StringComparison.Ordinal)
        || e.GetType().Name.EndsWith("DatasetException", StringComparison.Ordinal);

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}

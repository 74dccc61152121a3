using System.CommandLine;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Report;

namespace DeepShrink.Cli.Commands;

/// <summary>The <c>report</c> verb: one self-contained HTML report with plots from <c>compress --json</c> runs and/or model files.</summary>
public static class ReportCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var inputs = new Argument<string[]>("RUN") { Description = "compress --json files (RUN.json) and/or model files (.dsz, .safetensors)", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "HTML report to write", Required = true };
        var noLatency = new Option<bool>("--no-latency") { Description = "Do not measure the batch-1 latency of the .dsz files" };
        var json = CommonOptions.Json();
        var cmd = new Command("report", "Write an HTML compression report (histograms, sensitivity, bytes, Pareto, training curves, energy)");
        cmd.Arguments.Add(inputs);
        foreach (var o in new Option[] { output, noLatency, json }) cmd.Options.Add(o);
        cmd.SetHandler(pr =>
        {
            var figures = Write(pr.GetValue(inputs)!, pr.GetValue(output)!, !pr.GetValue(noLatency));
            new JsonReport().Set("out", pr.GetValue(output)).Set("figures", figures.Count)
                .Set("figure_kinds", JsonReport.ToNode(figures.GroupBy(f => f.Kind).ToDictionary(g => g.Key, g => (object)g.Count())))
                .WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        return cmd;
    }

    /// <summary>Reads every input, writes the report and prints its path (shared with compress --report, inspect --plot and demo).</summary>
    public static IReadOnlyList<Figure> Write(IReadOnlyList<string> inputs, string outPath, bool measureLatency = true)
    {
        OutputPath.Check(outPath);
        var runs = new List<RunData>();
        foreach (var path in inputs)
        {
            if (!File.Exists(path)) throw new CliException($"{path}: no such file");
            try
            {
                runs.Add(path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? RunData.FromJson(path) : ModelFiles.Detect(path) switch
                {
                    ModelFiles.Kind.Safetensors or ModelFiles.Kind.Dsz => RunData.FromModelFile(path),
                    _ => throw new CliException($"{path}: report takes compress --json files, .dsz and .safetensors models"),
                });
            }
            catch (FormatException e) { throw new CliException(e.Message); }
        }
        var figures = HtmlReport.Write(runs, outPath, new HtmlReport.Options { MeasureLatency = measureLatency });
        Console.WriteLine($"report: {Path.GetFullPath(outPath)} ({figures.Count} figures, {new FileInfo(outPath).Length:N0} bytes)");
        return figures;
    }

    /// <summary>The command line of this process as typed (for reports): <c>deepshrink ARGS</c>.</summary>
    public static string CommandLine()
        => "./deepshrink " + string.Join(' ', Program.Arguments.Select(a => a.Length == 0 || a.Any(char.IsWhiteSpace) ? $"'{a}'" : a));
}

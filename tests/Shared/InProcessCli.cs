namespace DeepShrink.Tests.Shared;

/// <summary>Runs the <c>deepshrink</c> CLI in this process with its console output captured (tests only).</summary>
internal static class InProcessCli
{
    /// <summary>Exit code, standard output and standard error of <c>deepshrink ARGS</c>.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        var (po, pe) = (Console.Out, Console.Error);
        Console.SetOut(o); Console.SetError(e);
        try { return (Cli.Program.Main(args), o.ToString(), e.ToString()); }
        finally { Console.SetOut(po); Console.SetError(pe); }
    }
}

using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

/// <summary>
/// Re-runs tests of this assembly in a child <c>dotnet test</c> process whose runtime is limited to
/// a lower SIMD level (the ML.NET CpuMath approach), so every kernel path is tested on one machine.
/// The child sees <see cref="ExpectedIsaVariable"/> so a test can assert it really ran on that
/// path (see <see cref="GemmTests.Runs_on_the_expected_isa"/>), and <see cref="ChildVariable"/> so
/// fallback tests do not recurse.
/// </summary>
public static partial class IsaFallback
{
    /// <summary>Environment variable carrying the expected <see cref="CpuFeatures.LevelName"/> into the child.</summary>
    public const string ExpectedIsaVariable = "DEEPSHRINK_EXPECTED_ISA";

    /// <summary>Environment variable set to "1" inside the child process.</summary>
    public const string ChildVariable = "DEEPSHRINK_ISA_CHILD";

    /// <summary>Filter selecting the SGEMM tests (<see cref="GemmTests"/>).</summary>
    public const string GemmFilter = "DeepShrink.Core.Tests.GemmTests";

    /// <summary>True inside a child started by <see cref="RunInChild"/>.</summary>
    public static bool InChild => Environment.GetEnvironmentVariable(ChildVariable) == "1";

    /// <summary>
    /// Runtime knobs that cap the JIT at <paramref name="level"/>. .NET 10 reads
    /// <c>DOTNET_EnableAVX512</c> (the older <c>DOTNET_EnableAVX512F</c> is set too for earlier runtimes).
    /// </summary>
    public static IReadOnlyDictionary<string, string> KnobsFor(SimdLevel level) => level switch
    {
        SimdLevel.Vector512 => new Dictionary<string, string>(),
        SimdLevel.Vector256Fma => new Dictionary<string, string> { ["DOTNET_EnableAVX512"] = "0", ["DOTNET_EnableAVX512F"] = "0" },
        _ => new Dictionary<string, string> { ["DOTNET_EnableHWIntrinsic"] = "0" },
    };

    /// <summary>Outcome of a child test run.</summary>
    public sealed record ChildResult(int ExitCode, int Passed, int Failed, string Output);

    /// <summary>
    /// Runs the tests of this assembly whose fully qualified name contains <paramref name="filter"/>
    /// in a child process capped at <paramref name="level"/> (plus any <paramref name="extraKnobs"/>), and returns its
    /// exit code, counts and output.
    /// </summary>
    public static ChildResult RunInChild(string filter, SimdLevel level, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? extraKnobs = null)
    {
        string dll = typeof(IsaFallback).Assembly.Location;
        string results = Path.Combine(Path.GetTempPath(), "deepshrink-isa-" + Environment.ProcessId + "-" + level + "-" + (extraKnobs?.Count ?? 0));
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        foreach (var arg in new[] { "test", dll, "--filter", "FullyQualifiedName~" + filter, "--results-directory", results, "--nologo" })
            psi.ArgumentList.Add(arg);
        foreach (var (key, value) in KnobsFor(level)) psi.Environment[key] = value;
        if (extraKnobs is not null) foreach (var (key, value) in extraKnobs) psi.Environment[key] = value;
        psi.Environment[ExpectedIsaVariable] = CpuFeatures.Name(level);
        psi.Environment[ChildVariable] = "1";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        var output = new StringBuilder();
        using var child = new Process { StartInfo = psi };
        child.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        child.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        child.Start();
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        if (!child.WaitForExit(timeout ?? TimeSpan.FromMinutes(5)))
        {
            child.Kill(entireProcessTree: true);
            throw new TimeoutException($"child test run ({filter}, {level}) timed out:\n{output}");
        }
        child.WaitForExit(); // flush redirected output
        try { Directory.Delete(results, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        string text = output.ToString();
        return new ChildResult(child.ExitCode, Count(text, "Passed"), Count(text, "Failed"), text);
    }

    /// <summary>
    /// Asserts that the tests matching <paramref name="filter"/> pass in a child capped at
    /// <paramref name="level"/> and that at least one test ran. Does nothing inside a child, or when
    /// this machine cannot even reach <paramref name="level"/> (the parent run already covers it).
    /// </summary>
    public static void AssertPassesInChild(string filter, SimdLevel level, IReadOnlyDictionary<string, string>? extraKnobs = null)
    {
        if (InChild || CpuFeatures.Level < level) return;
        var r = RunInChild(filter, level, extraKnobs: extraKnobs);
        Assert.True(r.ExitCode == 0 && r.Failed == 0 && r.Passed > 0,
            $"child run of '{filter}' at {CpuFeatures.Name(level)}: exit {r.ExitCode}, passed {r.Passed}, failed {r.Failed}\n{r.Output}");
    }

    // VSTest summary line: "Passed!  - Failed:     0, Passed:    17, Skipped:     0, Total:    17, ..."
    private static int Count(string output, string what)
    {
        var match = Regex.Match(output, what + @":\s+(\d+),");
        return match.Success ? int.Parse(match.Groups[1].Value) : 0;
    }
}

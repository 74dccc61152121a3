using Xunit.Abstractions;

namespace DeepShrink.Fuzz.Tests;

/// <summary>
/// Mutation fuzzing of every reader (see <see cref="FuzzRunner"/>): no exception other than the
/// reader's documented one escapes, every message is one line, no read hangs or allocates beyond its
/// bound. Fast counts here; scripts/fuzz.sh sets DEEPSHRINK_FUZZ_MUTANTS for the nightly run.
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("idx", 3000)]
    [InlineData("safetensors", 3000)]
    [InlineData("dsz", 2000)]
    [InlineData("dsz-runtime", 1000)]
    [InlineData("recipe", 3000)]
    [InlineData("onnx", 1500)]
    [InlineData("imagefolder", 1500)]
    public void MutantsAreRejectedCleanly(string target, int fastCount)
    {
        var t = FuzzTargets.All[target];
        int n = FuzzRunner.MutantCount(fastCount);
        var report = FuzzRunner.Run(t, n, FuzzRunner.Seed * 1000 + (ulong)target.Sum(c => c) /* stable per reader */);
        string line = $"fuzz {target} (seed {FuzzRunner.Seed}): {report}";
        output.WriteLine(line);
        foreach (var f in report.Findings.Take(20)) output.WriteLine(f);
        if (Environment.GetEnvironmentVariable("DEEPSHRINK_FUZZ_REPORT") is { Length: > 0 } file)
            File.AppendAllLines(file, [line, .. report.Findings]);
        Assert.True(report.Findings.Count == 0, $"{report.Findings.Count} findings; first: {report.Findings.FirstOrDefault()}");
        Assert.True(report.Rejected > n / 4, $"only {report.Rejected} of {n} mutants were rejected: the mutator is too gentle");
    }

    public static TheoryData<string> RegressionFiles()
    {
        var data = new TheoryData<string>();
        string root = Path.Combine(AppContext.BaseDirectory, "Regressions");
        if (Directory.Exists(root))
            foreach (var f in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                data.Add(Path.GetRelativePath(root, f));
        return data;
    }

    /// <summary>Every past finding (Regressions/&lt;reader&gt;/FILE) is now read or rejected cleanly.</summary>
    [Theory]
    [MemberData(nameof(RegressionFiles))]
    public void RegressionFilesAreHandled(string file)
    {
        var target = FuzzTargets.All[file.Split(Path.DirectorySeparatorChar)[0]];
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Regressions", file));
        var (error, _, ms) = FuzzRunner.Measure(target, bytes);
        Assert.Null(FuzzRunner.Classify(target, error));
        Assert.True(ms < FuzzRunner.SlowMs, $"{file} took {ms:F0} ms");
    }
}

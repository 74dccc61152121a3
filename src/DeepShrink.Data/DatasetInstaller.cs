using System.Diagnostics;

namespace DeepShrink.Data;

/// <summary>
/// Installs Fashion-MNIST with the system package manager (Debian package
/// <c>dataset-fashion-mnist</c>). Only ever called explicitly (by the CLI demo), never implicitly
/// by loading, and never by tests.
/// </summary>
public static class DatasetInstaller
{
    /// <summary>
    /// True when an install can be attempted: the process is privileged (root) and <c>apt-get</c>
    /// is on the PATH. Otherwise <paramref name="reason"/> says why not.
    /// </summary>
    public static bool CanInstall(out string reason)
    {
        if (!OperatingSystem.IsLinux()) { reason = "installing datasets needs Linux with apt-get"; return false; }
        if (!Environment.IsPrivilegedProcess) { reason = "not running as root"; return false; }
        if (FindOnPath("apt-get") is null) { reason = "apt-get is not on the PATH"; return false; }
        reason = "";
        return true;
    }

    /// <summary>
    /// Makes sure Fashion-MNIST is present at <see cref="DatasetSpec.FashionMnistDirectory"/>: returns true
    /// at once when it is, otherwise (root with apt-get only) runs <c>apt-get update</c> and
    /// <c>apt-get install -y dataset-fashion-mnist</c>, echoing their output to <paramref name="log"/>.
    /// </summary>
    /// <param name="log">Receives progress and the package manager's output.</param>
    /// <param name="timeout">Limit per apt-get command (default 10 minutes); the command is killed after it.</param>
    /// <returns>True when the four files are present afterwards.</returns>
    public static bool TryInstallFashionMnist(TextWriter log, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (IsPresent()) return true;
        if (!CanInstall(out string reason))
        {
            log.WriteLine($"cannot install {DatasetSpec.FashionMnistPackage}: {reason}; run `apt-get install {DatasetSpec.FashionMnistPackage}` as root");
            return false;
        }
        var limit = timeout ?? TimeSpan.FromMinutes(10);
        log.WriteLine($"Fashion-MNIST is missing; installing {DatasetSpec.FashionMnistPackage} with apt-get");
        if (Run(log, limit, "update") != 0) log.WriteLine("apt-get update failed; trying the install anyway");
        int rc = Run(log, limit, "install", "-y", DatasetSpec.FashionMnistPackage);
        if (rc != 0) { log.WriteLine($"apt-get install exited with code {rc}"); return false; }
        bool ok = IsPresent();
        if (!ok) log.WriteLine($"{DatasetSpec.FashionMnistPackage} installed but {DatasetSpec.FashionMnistDirectory} lacks the IDX files");
        return ok;
    }

    private static bool IsPresent() =>
        Directory.Exists(DatasetSpec.FashionMnistDirectory) && IdxFileSet.Find(DatasetSpec.FashionMnistDirectory, out _) is not null;

    private static int Run(TextWriter log, TimeSpan limit, params string[] args)
    {
        var psi = new ProcessStartInfo("apt-get")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        log.WriteLine("$ apt-get " + string.Join(' ', args));
        using var p = new Process { StartInfo = psi };
        var gate = new object();
        void Echo(object _, DataReceivedEventArgs e) { if (e.Data is not null) lock (gate) log.WriteLine(e.Data); }
        p.OutputDataReceived += Echo;
        p.ErrorDataReceived += Echo;
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            log.WriteLine($"apt-get {args[0]} did not finish within {limit.TotalMinutes:F0} minutes and was stopped");
            return -1;
        }
        p.WaitForExit(); // flush the asynchronous output readers
        return p.ExitCode;
    }

    private static string? FindOnPath(string exe)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, exe);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}

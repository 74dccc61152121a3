using System.Diagnostics;

namespace DeepShrink.Onnx.Import;

/// <summary>A pretrained model that ships inside a NuGet package.</summary>
/// <param name="Name">Name used by <c>deepshrink fetch</c> (e.g. <c>resnet18-imagenet</c>).</param>
/// <param name="PackageId">NuGet package id.</param>
/// <param name="Version">Exact package version.</param>
/// <param name="ModelPath">Path of the .onnx file inside the package.</param>
/// <param name="PreprocessPath">Path of its preprocessing graph inside the package, if any.</param>
public sealed record PretrainedModel(string Name, string PackageId, string Version, string ModelPath, string? PreprocessPath);

/// <summary>
/// Fetches pretrained ONNX models by restoring their NuGet package with <c>dotnet restore</c> of a
/// generated project (a <c>PackageDownload</c>, so no dependencies come along) into a cache folder:
/// <c>$DEEPSHRINK_CACHE</c>, else <c>~/.cache/deepshrink</c>. A copy already in <c>~/.nuget/packages</c> is reused.
/// </summary>
public static class PretrainedModels
{
    /// <summary>ResNet18 (ImageNet, CNTK 2.6 export, opset 8) from Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1.</summary>
    public static PretrainedModel ResNet18 { get; } = new("resnet18-imagenet", "Microsoft.ML.DnnImageFeaturizer.ResNet18", "0.23.1",
        "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx", "tools/DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx");

    /// <summary>Every fetchable model.</summary>
    public static IReadOnlyList<PretrainedModel> All { get; } = [ResNet18];

    /// <summary>The model called <paramref name="name"/>; one-line error listing the names otherwise.</summary>
    public static PretrainedModel Get(string name) => All.FirstOrDefault(m => m.Name == name)
        ?? throw new ArgumentException($"unknown model '{name}' (known: {string.Join(", ", All.Select(m => m.Name))})");

    /// <summary>The cache folder: <c>$DEEPSHRINK_CACHE</c>, else <c>~/.cache/deepshrink</c>.</summary>
    public static string CacheDirectory()
    {
        var env = Environment.GetEnvironmentVariable("DEEPSHRINK_CACHE");
        return !string.IsNullOrWhiteSpace(env) ? Path.GetFullPath(env)
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "deepshrink");
    }

    /// <summary>The model file if it is already on this machine (cache or NuGet's global folder), else null.</summary>
    public static string? Find(PretrainedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var root in PackageRoots())
        {
            var p = Path.Combine(root, model.PackageId.ToLowerInvariant(), model.Version, model.ModelPath);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>The preprocessing graph beside a fetched model, or null.</summary>
    public static string? PreprocessFile(PretrainedModel model, string modelFile)
    {
        if (model.PreprocessPath is null) return null;
        string root = modelFile[..^model.ModelPath.Length];
        var p = Path.Combine(root, model.PreprocessPath);
        return File.Exists(p) ? p : null;
    }

    /// <summary>
    /// Returns the path of the model file, restoring its package first when it is missing.
    /// <paramref name="log"/> receives progress lines. Throws <see cref="IOException"/> with one line
    /// (and the restore's last message) when NuGet cannot be reached.
    /// </summary>
    public static string Fetch(PretrainedModel model, Action<string>? log = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (Find(model) is string found) return found;
        string cache = CacheDirectory();
        string work = Path.Combine(cache, "restore", model.Name);
        Directory.CreateDirectory(work);
        File.WriteAllText(Path.Combine(work, "fetch.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
              </PropertyGroup>
              <ItemGroup>
                <PackageDownload Include="{model.PackageId}" Version="[{model.Version}]" />
              </ItemGroup>
            </Project>
            """);
        foreach (var f in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
            File.WriteAllText(Path.Combine(work, f), "<Project />");
        string packages = Path.Combine(cache, "packages");
        log?.Invoke($"restoring NuGet package {model.PackageId} {model.Version} into {packages} ...");
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = work, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "restore", "fetch.csproj", "--packages", packages, "-nologo", "-v", "q" }) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi) ?? throw new IOException("could not start 'dotnet restore'");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(10)))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new IOException($"restoring {model.PackageId} {model.Version} timed out");
        }
        string output = (stdout.Result + "\n" + stderr.Result).Trim();
        if (Find(model) is string path) return path;
        var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)) ?? $"exit code {p.ExitCode}";
        throw new IOException($"could not restore NuGet package {model.PackageId} {model.Version} (is NuGet reachable?): {last}");
    }

    private static IEnumerable<string> PackageRoots()
    {
        yield return Path.Combine(CacheDirectory(), "packages");
        var nuget = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (!string.IsNullOrWhiteSpace(nuget)) yield return nuget;
        yield return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
    }
}

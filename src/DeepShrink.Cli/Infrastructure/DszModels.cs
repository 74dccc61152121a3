namespace DeepShrink.Cli.Infrastructure;

/// <summary>Opens .dsz files for inference.</summary>
public static class DszModels
{
    /// <summary>Opens a .dsz model.</summary>
    public static IClassifier Open(string path) => throw new CliException($"{path}: .dsz inference is not available yet");
}

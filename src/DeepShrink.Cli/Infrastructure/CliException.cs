namespace DeepShrink.Cli.Infrastructure;

/// <summary>A user-facing error: printed as one line, exit code 1 (2 for usage errors).</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    /// <summary>Process exit code.</summary>
    public int ExitCode { get; } = exitCode;
}

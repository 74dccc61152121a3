namespace DeepShrink.Format;

/// <summary>
/// A safetensors file is malformed or does not match what was asked of it. The message is one
/// line that names the file (when known) and the problem.
/// </summary>
public sealed class SafetensorsException : IOException
{
    /// <summary>Creates the exception with a one-line message.</summary>
    public SafetensorsException(string message) : base(message) { }

    /// <summary>Creates the exception with a one-line message and the underlying cause.</summary>
    public SafetensorsException(string message, Exception inner) : base(message, inner) { }
}

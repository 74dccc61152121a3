namespace DeepShrink.Data;

/// <summary>
/// A dataset cannot be found, read or validated. The message is one line that names the file or
/// directory and the problem, and where possible says what to do about it.
/// </summary>
public sealed class DatasetException : IOException
{
    /// <summary>Creates the exception with a one-line message.</summary>
    public DatasetException(string message) : base(message) { }

    /// <summary>Creates the exception with a one-line message and the underlying cause.</summary>
    public DatasetException(string message, Exception inner) : base(message, inner) { }
}

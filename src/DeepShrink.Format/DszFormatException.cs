namespace DeepShrink.Format;

/// <summary>
/// A <c>.dsz</c> file (or an encoded tensor) is malformed: bad magic, unsupported version,
/// truncated data, checksum mismatch, inconsistent codec parameters, or a corrupt bit stream.
/// </summary>
/// <remarks>
/// Readers and decoders never let <see cref="IndexOutOfRangeException"/>, <see cref="OutOfMemoryException"/>
/// or a hang escape on bad input; every defect surfaces as this exception with a one-line message.
/// </remarks>
public sealed class DszFormatException : Exception
{
    /// <summary>Creates the exception with a one-line message.</summary>
    public DszFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with a one-line message and the underlying cause.</summary>
    public DszFormatException(string message, Exception inner) : base(message, inner) { }

    /// <summary>
    /// This defect with <paramref name="context"/> (e.g. <c>tensor 'fc1.weight'</c>) in front of its message;
    /// the exception itself when the message already starts with that context, so nested guards never
    /// repeat a prefix.
    /// </summary>
    public DszFormatException WithContext(string context) =>
        Message.StartsWith(context + ": ", StringComparison.Ordinal) ? this : new DszFormatException($"{context}: {Message}", this);
}

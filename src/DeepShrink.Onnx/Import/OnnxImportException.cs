namespace DeepShrink.Onnx.Import;

/// <summary>
/// A one-line error from <see cref="OnnxImporter"/>: an unsupported operator (named with its node and
/// opset), a malformed or hostile protobuf, a missing initializer, a cycle, a shape that cannot be
/// made per-sample. Derives from <see cref="FormatException"/>, so callers that handle malformed
/// models handle it too.
/// </summary>
public sealed class OnnxImportException : FormatException
{
    /// <summary>Creates the exception; line breaks and other control characters in the message (names echoed from the file) become spaces.</summary>
    public OnnxImportException(string message) : base(OneLine(message)) { }

    /// <summary>Creates the exception with its cause; the message is folded to one line as above.</summary>
    public OnnxImportException(string message, Exception inner) : base(OneLine(message), inner) { }

    private static string OneLine(string message)
        => string.Create(message.Length, message, static (d, m) =>
        {
            for (int i = 0; i < m.Length; i++) d[i] = char.IsControl(m[i]) || m[i] is '\u2028' or '\u2029' ? ' ' : m[i];
        });
}

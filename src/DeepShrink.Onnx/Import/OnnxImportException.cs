namespace DeepShrink.Onnx.Import;

/// <summary>
/// A one-line error from <see cref="OnnxImporter"/>: an unsupported operator (named with its node and
/// opset), a malformed or hostile protobuf, a missing initializer, a cycle, a shape that cannot be
/// made per-sample. Derives from <see cref="FormatException"/>, so callers that handle malformed
/// models handle it too.
/// </summary>
public sealed class OnnxImportException : FormatException
{
    /// <summary>Creates the exception with a one-line message.</summary>
    public OnnxImportException(string message) : base(message) { }

    /// <summary>Creates the exception with a one-line message and its cause.</summary>
    public OnnxImportException(string message, Exception inner) : base(message, inner) { }
}

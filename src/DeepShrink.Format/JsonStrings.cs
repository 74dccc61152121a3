using System.Text.Json;

namespace DeepShrink.Format;

/// <summary>
/// One validation pass over a parsed JSON document, so that no later accessor can fail on its text.
/// </summary>
/// <remarks>
/// <see cref="JsonDocument.Parse(ReadOnlyMemory{byte}, JsonDocumentOptions)"/> checks the structure but
/// decodes strings lazily: invalid UTF-8 inside a string or a lone surrogate escape (<c>"\ud800"</c>)
/// only surfaces as <see cref="InvalidOperationException"/> when a property name or value is read.
/// Readers call <see cref="Utf8Problem"/> before parsing and <see cref="StringProblem"/> right after,
/// then read the document freely.
/// </remarks>
internal static class JsonStrings
{
    /// <summary>Null when <paramref name="utf8"/> is well-formed UTF-8, else a one-line problem.</summary>
    public static string? Utf8Problem(ReadOnlySpan<byte> utf8) =>
        System.Text.Unicode.Utf8.IsValid(utf8) ? null : "is not valid UTF-8";

    /// <summary>Null when every property name and string value decodes, else a one-line problem.</summary>
    public static string? StringProblem(JsonElement root)
    {
        var stack = new Stack<JsonElement>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var e = stack.Pop();
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var p in e.EnumerateObject())
                    {
                        if (!Decodes(p, static p => p.Name)) return "holds a property name with an invalid escape (a lone UTF-16 surrogate)";
                        stack.Push(p.Value);
                    }
                    break;
                case JsonValueKind.Array:
                    foreach (var item in e.EnumerateArray()) stack.Push(item);
                    break;
                case JsonValueKind.String:
                    if (!Decodes(e, static e => e.GetString())) return "holds a string with an invalid escape (a lone UTF-16 surrogate)";
                    break;
            }
        }
        return null;
    }

    private static bool Decodes<T>(T value, Func<T, string?> read)
    {
        try { read(value); return true; }
        catch (InvalidOperationException) { return false; }
    }
}

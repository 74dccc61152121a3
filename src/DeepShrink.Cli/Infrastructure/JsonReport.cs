using System.Text.Json;
using System.Text.Json.Nodes;

namespace DeepShrink.Cli.Infrastructure;

/// <summary>Metrics a verb writes with <c>--json FILE</c> (stable keys, see docs/CLI.md).</summary>
public sealed class JsonReport
{
    private readonly JsonObject _root = new();

    /// <summary>Sets a top-level value.</summary>
    public JsonReport Set(string key, JsonNode? value) { _root[key] = value; return this; }

    /// <summary>Sets every entry of a dictionary (numbers, strings, booleans, nested nodes).</summary>
    public JsonReport SetAll(IEnumerable<KeyValuePair<string, object>> values)
    {
        foreach (var (k, v) in values) _root[k] = ToNode(v);
        return this;
    }

    /// <summary>Converts common CLR values to JSON nodes.</summary>
    public static JsonNode? ToNode(object? v) => v switch
    {
        null => null,
        JsonNode n => n.DeepClone(),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        float f => float.IsFinite(f) ? JsonValue.Create(Math.Round((double)f, 6)) : null,
        double d => double.IsFinite(d) ? JsonValue.Create(d) : null,
        IEnumerable<KeyValuePair<string, object>> dict => new JsonObject(dict.Select(kv => KeyValuePair.Create(kv.Key, ToNode(kv.Value)))),
        System.Collections.IEnumerable e => new JsonArray(e.Cast<object?>().Select(ToNode).ToArray()),
        _ => JsonValue.Create(v.ToString()),
    };

    /// <summary>The report as indented JSON.</summary>
    public string ToJson() => _root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>
    /// Writes the HTML report of this run (a compress report) to <paramref name="htmlPath"/>: from <paramref name="jsonPath"/>
    /// when it was written, else from a temporary copy of this report.
    /// </summary>
    public void WriteHtml(string htmlPath, string? jsonPath)
    {
        string source = jsonPath ?? Path.Combine(Path.GetTempPath(), $"deepshrink-run-{Environment.ProcessId}.json");
        try
        {
            if (jsonPath is null) File.WriteAllText(source, ToJson());
            Commands.ReportCommand.Write([source], htmlPath);
        }
        finally { if (jsonPath is null) File.Delete(source); }
    }

    /// <summary>Writes the report atomically (temp file + rename) when <paramref name="path"/> is given.</summary>
    public void WriteIfRequested(string? path)
    {
        if (string.IsNullOrEmpty(path)) return;
        OutputPath.Check(path);
        Format.AtomicFile.WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(ToJson() + "\n"));
    }
}

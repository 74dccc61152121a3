using System.Buffers;
using System.Text;
using System.Text.Json;

namespace DeepShrink.Core.Graph;

/// <summary>
/// The typed JSON reader and writer of <see cref="ModelGraph"/>: every field is checked for its JSON
/// kind, so a malformed or hostile graph (nulls, wrong types, absurd sizes) gives one
/// <see cref="FormatException"/> line naming the place, never another exception.
/// </summary>
internal static class ModelGraphJson
{
    /// <summary>Upper bounds that keep a hostile graph from allocating without limit.</summary>
    private const int MaxNodes = 1_000_000, MaxList = 4096, MaxDepth = 16;

    public static string Write(ModelGraph g)
    {
        var buf = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buf))
        {
            w.WriteStartObject();
            w.WriteNumber("version", ModelGraph.CurrentVersion);
            w.WriteString("input", g.Input);
            w.WriteStartArray("input_shape");
            foreach (var d in g.InputShape) w.WriteNumberValue(d);
            w.WriteEndArray();
            w.WriteString("output", g.Output);
            w.WriteStartArray("nodes");
            foreach (var n in g.Nodes) WriteNode(w, n);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buf.WrittenSpan);
    }

    private static void WriteNode(Utf8JsonWriter w, GraphNode n)
    {
        w.WriteStartObject();
        w.WriteString("name", n.Name);
        w.WriteString("op", n.Op);
        w.WriteStartArray("inputs");
        foreach (var i in n.Inputs) w.WriteStringValue(i);
        w.WriteEndArray();
        if (n.Outputs.Count == 1) w.WriteString("output", n.Outputs[0]);
        else
        {
            w.WriteStartArray("outputs");
            foreach (var o in n.Outputs) w.WriteStringValue(o);
            w.WriteEndArray();
        }
        w.WriteStartObject("params");
        foreach (var (k, v) in n.Params) w.WriteString(k, v);
        w.WriteEndObject();
        w.WriteStartObject("attrs");
        foreach (var (k, v) in n.Attrs)
        {
            switch (v.Kind)
            {
                case AttrKind.Number: WriteNumber(w, k, v.AsNumber()); break;
                case AttrKind.Text: w.WriteString(k, v.AsText()); break;
                default:
                    w.WriteStartArray(k);
                    foreach (var d in v.AsList()) WriteNumber(w, null, d);
                    w.WriteEndArray();
                    break;
            }
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteNumber(Utf8JsonWriter w, string? key, double d)
    {
        if (!double.IsFinite(d)) throw new FormatException($"attribute '{key}' is {d}; graph attributes must be finite");
        if (key is null) w.WriteNumberValue(d); else w.WriteNumber(key, d);
    }

    public static ModelGraph Read(string json)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxDepth }); }
        catch (JsonException e) { throw new FormatException($"invalid model graph JSON: {e.Message}"); }
        catch (ArgumentException e) { throw new FormatException($"invalid model graph JSON: {e.Message}"); }
        using (doc)
        {
            var root = doc.RootElement;
            Expect(root, JsonValueKind.Object, "model graph");
            int version = root.TryGetProperty("version", out var ver) ? Int(ver, "version") : 1;
            if (version < 1 || version > ModelGraph.CurrentVersion)
                throw new FormatException($"model graph version {version} is not supported (this build reads 1..{ModelGraph.CurrentVersion})");
            var g = new ModelGraph
            {
                Input = root.TryGetProperty("input", out var inp) ? Str(inp, "input") : "input",
                Output = root.TryGetProperty("output", out var outp) ? Str(outp, "output") : "output",
                InputShape = root.TryGetProperty("input_shape", out var shp) ? IntList(shp, "input_shape") : [],
            };
            if (root.TryGetProperty("nodes", out var nodes))
            {
                Expect(nodes, JsonValueKind.Array, "nodes");
                if (nodes.GetArrayLength() > MaxNodes) throw new FormatException($"model graph has more than {MaxNodes} nodes");
                int i = 0;
                foreach (var n in nodes.EnumerateArray()) g.Nodes.Add(ReadNode(n, i++));
            }
            return g;
        }
    }

    private static GraphNode ReadNode(JsonElement e, int index)
    {
        string where = $"nodes[{index}]";
        Expect(e, JsonValueKind.Object, where);
        var n = new GraphNode
        {
            Name = e.TryGetProperty("name", out var name) ? Str(name, where + ".name") : "",
            Op = e.TryGetProperty("op", out var op) ? Str(op, where + ".op") : "",
        };
        where = $"node '{n.Name}'";
        n.Inputs = e.TryGetProperty("inputs", out var ins) ? StrList(ins, where + " inputs") : new List<string>();
        if (e.TryGetProperty("outputs", out var outs)) n.Outputs = StrList(outs, where + " outputs");
        else if (e.TryGetProperty("output", out var o)) n.Output = Str(o, where + " output");
        else throw new FormatException($"{where} has no output");
        if (e.TryGetProperty("params", out var ps) && ps.ValueKind != JsonValueKind.Null)
        {
            Expect(ps, JsonValueKind.Object, where + " params");
            foreach (var p in ps.EnumerateObject())
                if (!n.Params.TryAdd(p.Name, Str(p.Value, $"{where} param '{p.Name}'")))
                    throw new FormatException($"{where} repeats param '{p.Name}'");
        }
        if (e.TryGetProperty("attrs", out var attrs) && attrs.ValueKind != JsonValueKind.Null)
        {
            Expect(attrs, JsonValueKind.Object, where + " attrs");
            foreach (var a in attrs.EnumerateObject())
                if (!n.Attrs.TryAdd(a.Name, Attr(a.Value, $"{where} attr '{a.Name}'")))
                    throw new FormatException($"{where} repeats attr '{a.Name}'");
        }
        return n;
    }

    private static AttrValue Attr(JsonElement e, string where) => e.ValueKind switch
    {
        JsonValueKind.Number => AttrValue.Of(Num(e, where)),
        JsonValueKind.String => AttrValue.Of(e.GetString()!),
        JsonValueKind.Array => AttrValue.Of(NumList(e, where)),
        _ => throw new FormatException($"{where} must be a number, a list of numbers or a string, got {e.ValueKind.ToString().ToLowerInvariant()}"),
    };

    private static void Expect(JsonElement e, JsonValueKind kind, string where)
    {
        if (e.ValueKind != kind)
            throw new FormatException($"model graph {where} must be {(kind == JsonValueKind.Array ? "an array" : "an " + kind.ToString().ToLowerInvariant())}, got {e.ValueKind.ToString().ToLowerInvariant()}");
    }

    private static string Str(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.String) throw new FormatException($"model graph {where} must be a string, got {e.ValueKind.ToString().ToLowerInvariant()}");
        return e.GetString()!;
    }

    private static double Num(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out var d) || !double.IsFinite(d))
            throw new FormatException($"model graph {where} must be a finite number");
        return d;
    }

    private static int Int(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out var i)) throw new FormatException($"model graph {where} must be a 32-bit integer");
        return i;
    }

    private static List<string> StrList(JsonElement e, string where)
    {
        Expect(e, JsonValueKind.Array, where);
        if (e.GetArrayLength() > MaxList) throw new FormatException($"model graph {where} has more than {MaxList} entries");
        return e.EnumerateArray().Select((x, i) => Str(x, $"{where}[{i}]")).ToList();
    }

    private static double[] NumList(JsonElement e, string where)
    {
        if (e.GetArrayLength() > MaxList) throw new FormatException($"model graph {where} has more than {MaxList} entries");
        return e.EnumerateArray().Select((x, i) => Num(x, $"{where}[{i}]")).ToArray();
    }

    private static int[] IntList(JsonElement e, string where)
    {
        Expect(e, JsonValueKind.Array, where);
        if (e.GetArrayLength() > MaxList) throw new FormatException($"model graph {where} has more than {MaxList} entries");
        return e.EnumerateArray().Select((x, i) => Int(x, $"{where}[{i}]")).ToArray();
    }
}

using System.Collections.Concurrent;

namespace DeepShrink.Core.Graph;

/// <summary>
/// The op schema registry: every op a <see cref="ModelGraph"/> may contain, with its arity,
/// parameters, attributes, shape inference and cost. The built-in ops are listed in
/// <see cref="BuiltIn"/>; a method in another assembly adds its own op with <see cref="Register"/>
/// (and then teaches the trainer, the runtime and the exporter to run it, or they refuse it by name).
/// </summary>
public static class OpSchemas
{
    private static readonly ConcurrentDictionary<string, OpSchema> s_schemas = new(StringComparer.Ordinal);

    static OpSchemas()
    {
        foreach (var s in BuiltInOps.All().Concat(StructuredOps.All())) s_schemas[s.Name] = s;
        BuiltIn = s_schemas.Keys.Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Names of the built-in ops.</summary>
    public static IReadOnlyList<string> BuiltIn { get; }

    /// <summary>Every registered op name.</summary>
    public static IEnumerable<string> Names => s_schemas.Keys.Order(StringComparer.Ordinal);

    /// <summary>Adds an op; registering the same name twice with another schema object is an error.</summary>
    public static void Register(OpSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var existing = s_schemas.GetOrAdd(schema.Name, schema);
        if (!ReferenceEquals(existing, schema)) throw new InvalidOperationException($"op '{schema.Name}' is already registered");
    }

    /// <summary>The schema of an op, or null.</summary>
    public static OpSchema? TryGet(string op) => s_schemas.TryGetValue(op, out var s) ? s : null;

    /// <summary>The schema of an op; one-line <see cref="FormatException"/> naming the known ops otherwise.</summary>
    public static OpSchema Get(string op) => TryGet(op)
        ?? throw new FormatException($"unknown op '{op}' (known: {string.Join(", ", Names)})");

    /// <summary>Numpy-style broadcast of two per-sample shapes (aligned on the right).</summary>
    public static int[] Broadcast(int[] a, int[] b)
    {
        int r = Math.Max(a.Length, b.Length);
        var o = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i < r - a.Length ? 1 : a[i - (r - a.Length)], db = i < r - b.Length ? 1 : b[i - (r - b.Length)];
            if (da != db && da != 1 && db != 1) throw new FormatException($"shapes {ShapeUtil.Format(a)} and {ShapeUtil.Format(b)} do not broadcast");
            o[i] = Math.Max(da, db);
        }
        return o;
    }

    /// <summary>The pads [top, left, bottom, right] of a <c>pad</c> node (validated).</summary>
    public static int[] Pads(GraphNode n) => BuiltInOps.Pads(n);

    /// <summary>The per-sample target shape of a <c>reshape</c> node applied to a sample of shape <paramref name="x"/>.</summary>
    public static int[] ReshapeTarget(GraphNode n, int[] x) => BuiltInOps.ReshapeTarget(n, x);

    /// <summary>A full-tensor axis (batch = 0, negative counts from the end) as a per-sample axis; must not be the batch axis.</summary>
    public static int SampleAxis(GraphNode n, int axis, int sampleRank)
    {
        int full = axis < 0 ? axis + sampleRank + 1 : axis;
        if (full < 1 || full > sampleRank) throw new FormatException($"node '{n.Name}' ({n.Op}): axis {axis} is outside 1..{sampleRank} (the batch axis cannot be used)");
        return full - 1;
    }
}

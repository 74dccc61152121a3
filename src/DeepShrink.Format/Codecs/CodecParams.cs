using System.Text.Json;

namespace DeepShrink.Format.Codecs;

/// <summary>Strict, exception-safe access to codec parameters and parts (all errors are <see cref="DszFormatException"/>).</summary>
internal static class CodecParams
{
    /// <summary>Throws unless the tensor is labelled with the codec <paramref name="name"/>.</summary>
    public static void ExpectCodec(EncodedTensor t, string name)
    {
        if (t.Codec != name) throw new DszFormatException($"tensor of codec '{t.Codec}' given to codec '{name}'");
    }

    /// <summary>Throws if the parameters hold a key other than <paramref name="allowed"/>.</summary>
    public static void ExpectKeys(EncodedTensor t, params string[] allowed)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var prop in t.Params.EnumerateObject())
        {
            if (Array.IndexOf(allowed, prop.Name) < 0)
                throw new DszFormatException($"codec '{t.Codec}': unknown parameter '{prop.Name}'");
            if (!seen.Add(prop.Name)) throw new DszFormatException($"codec '{t.Codec}': parameter '{prop.Name}' appears twice");
        }
    }

    /// <summary>Throws unless the parts are exactly <paramref name="names"/>.</summary>
    public static void ExpectParts(EncodedTensor t, params string[] names)
    {
        foreach (string n in names)
            if (!t.Parts.ContainsKey(n)) throw new DszFormatException($"codec '{t.Codec}': missing part '{n}'");
        if (t.Parts.Count != names.Length)
        {
            string extra = t.Parts.Keys.First(k => Array.IndexOf(names, k) < 0);
            throw new DszFormatException($"codec '{t.Codec}': unexpected part '{extra}'");
        }
    }

    /// <summary>A part whose length must be exactly <paramref name="expectedBytes"/>.</summary>
    public static ReadOnlyMemory<byte> Part(EncodedTensor t, string name, Int128 expectedBytes)
    {
        var p = t.Parts[name];
        if (p.Length != expectedBytes)
            throw new DszFormatException($"codec '{t.Codec}': part '{name}' has {p.Length} bytes, expected {expectedBytes}");
        return p;
    }

    /// <summary>An integer parameter within [min, max].</summary>
    public static long GetLong(EncodedTensor t, string key, long min, long max)
    {
        if (!t.Params.TryGetProperty(key, out var v)) throw new DszFormatException($"codec '{t.Codec}': missing parameter '{key}'");
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x))
            throw new DszFormatException($"codec '{t.Codec}': parameter '{key}' is not an integer");
        if (x < min || x > max) throw new DszFormatException($"codec '{t.Codec}': parameter '{key}' = {x} outside {min}..{max}");
        return x;
    }

    /// <summary>An integer parameter within [min, max] that fits an int.</summary>
    public static int GetInt(EncodedTensor t, string key, int min, int max) => (int)GetLong(t, key, min, max);

    /// <summary>A boolean parameter.</summary>
    public static bool GetBool(EncodedTensor t, string key)
    {
        if (!t.Params.TryGetProperty(key, out var v)) throw new DszFormatException($"codec '{t.Codec}': missing parameter '{key}'");
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new DszFormatException($"codec '{t.Codec}': parameter '{key}' is not a boolean"),
        };
    }

    /// <summary>A string parameter that must be one of <paramref name="allowed"/>.</summary>
    public static string GetChoice(EncodedTensor t, string key, params string[] allowed)
    {
        if (!t.Params.TryGetProperty(key, out var v)) throw new DszFormatException($"codec '{t.Codec}': missing parameter '{key}'");
        string? s = v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (s is null || Array.IndexOf(allowed, s) < 0)
            throw new DszFormatException($"codec '{t.Codec}': parameter '{key}' must be one of {string.Join(", ", allowed)}");
        return s;
    }

    /// <summary>An optional channel axis (JSON null = per-tensor) valid for the tensor's rank.</summary>
    public static int? GetAxis(EncodedTensor t, string key)
    {
        if (!t.Params.TryGetProperty(key, out var v)) throw new DszFormatException($"codec '{t.Codec}': missing parameter '{key}'");
        if (v.ValueKind == JsonValueKind.Null) return null;
        if (t.Shape.Count == 0) throw new DszFormatException($"codec '{t.Codec}': a rank-0 tensor has no axis");
        return GetInt(t, key, 0, t.Shape.Count - 1);
    }

    /// <summary>Number of channels and the size of one channel's inner block for an optional axis.</summary>
    public static (int Channels, long Inner) ChannelLayout(IReadOnlyList<int> shape, int? axis)
    {
        if (axis is not int a) return (1, 1);
        long inner = 1;
        for (int d = a + 1; d < shape.Count; d++) inner *= shape[d];
        return (shape[a], inner);
    }

    /// <summary>Bits needed to hold values 0..count-1 (at least 1).</summary>
    public static int BitsFor(long count) => count <= 2 ? 1 : 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)(count - 1));

    /// <summary>Encoder-side check that <paramref name="length"/> values fill <paramref name="shape"/>; returns the element count.</summary>
    public static int CheckShape(ReadOnlySpan<int> shape, int length, string what)
    {
        if (shape.Length > DszLimits.MaxRank) throw new ArgumentException($"rank {shape.Length} exceeds {DszLimits.MaxRank}");
        int n = DeepShrink.Core.ShapeUtil.Numel(shape);
        if (length != n) throw new ArgumentException($"{what} has {length} elements but shape {DeepShrink.Core.ShapeUtil.Format(shape)} needs {n}");
        return n;
    }

    /// <summary>
    /// Encoder-side check of an optional channel axis and (when <paramref name="scaleCount"/> is not
    /// negative) of the number of per-channel values; returns (channels, inner block size).
    /// </summary>
    public static (int Channels, long Inner) CheckAxis(ReadOnlySpan<int> shape, int? axis, int scaleCount, string what)
    {
        if (axis is int a && (a < 0 || a >= shape.Length))
            throw new ArgumentOutOfRangeException(nameof(axis), $"axis {a} out of range for rank {shape.Length}");
        var layout = ChannelLayout(shape.ToArray(), axis);
        if (scaleCount >= 0 && scaleCount != layout.Channels)
            throw new ArgumentException($"{what}: {scaleCount} values given, {layout.Channels} channels expected");
        return layout;
    }

    /// <summary>Channel of flat element <paramref name="i"/>.</summary>
    public static int ChannelOf(long i, (int Channels, long Inner) layout) =>
        layout.Channels == 1 ? 0 : (int)(i / layout.Inner % layout.Channels);

    /// <summary>Number of values that are not zero (NaN counts as nonzero; -0.0 as zero).</summary>
    public static long CountNonzeros(ReadOnlySpan<float> values)
    {
        long n = 0;
        foreach (float v in values) if (v != 0f) n++;
        return n;
    }
}

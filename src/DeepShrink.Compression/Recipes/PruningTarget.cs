namespace DeepShrink.Compression.Recipes;

/// <summary>
/// A global budget for unstructured pruning that the pipeline distributes over layers itself:
/// <c>target: {params: 0.1}</c> (non-zero parameters / all parameters) or <c>target: {bytes: 0.025}</c>
/// (compressed file bytes / dense fp32 bytes of all tensors).
/// </summary>
/// <param name="Kind">"params" or "bytes".</param>
/// <param name="Fraction">The budget as a fraction of the dense model, in (0, 1].</param>
public sealed record PruningTarget(string Kind, double Fraction)
{
    /// <summary>True for a file-size budget.</summary>
    public bool IsBytes => Kind == "bytes";

    /// <summary>Parses <c>{params: F}</c> or <c>{bytes: F}</c> (exactly one key).</summary>
    public static PruningTarget Parse(YamlMap m)
    {
        bool p = m.Has("params"), b = m.Has("bytes");
        if (p == b) throw m.Error("params", "give exactly one of params or bytes (a fraction of the dense model, e.g. {bytes: 0.025})");
        var t = p ? new PruningTarget("params", m.Num("params", 1, 1e-6, 1)) : new PruningTarget("bytes", m.Num("bytes", 1, 1e-6, 1));
        m.EnsureAllUsed();
        return t;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} {Fraction:G4} ({1 / Fraction:F1}x)";
}

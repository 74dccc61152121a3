namespace DeepShrink.Format;

/// <summary>
/// The content of a safetensors file: named tensors plus the optional <c>__metadata__</c>
/// string map. Read with <see cref="SafetensorsReader"/>, written with <see cref="SafetensorsWriter"/>.
/// </summary>
public sealed class SafetensorsFile
{
    /// <summary>Tensors by name, in ordinal name order.</summary>
    public IReadOnlyDictionary<string, SafetensorsTensor> Tensors { get; }
    /// <summary>The <c>__metadata__</c> map (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Creates a file model (copies both maps).</summary>
    public SafetensorsFile(IReadOnlyDictionary<string, SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        Tensors = new SortedDictionary<string, SafetensorsTensor>(tensors.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal);
        Metadata = metadata is null
            ? new SortedDictionary<string, string>(StringComparer.Ordinal)
            : new SortedDictionary<string, string>(metadata.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal);
    }
}

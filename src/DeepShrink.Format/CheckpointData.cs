using DeepShrink.Core;

namespace DeepShrink.Format;

/// <summary>What <see cref="Checkpoint.Load"/> returns: float32 tensors by name and the metadata map.</summary>
/// <param name="Tensors">Tensors by name, in ordinal name order.</param>
/// <param name="Metadata">The safetensors <c>__metadata__</c> map (empty when absent).</param>
public sealed record CheckpointData(IReadOnlyDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>The architecture name (<see cref="Checkpoint.ArchKey"/>), or null when absent.</summary>
    public string? Arch => Metadata.TryGetValue(Checkpoint.ArchKey, out var v) ? v : null;
    /// <summary>The architecture's JSON configuration (<see cref="Checkpoint.ConfigKey"/>), or null when absent.</summary>
    public string? Config => Metadata.TryGetValue(Checkpoint.ConfigKey, out var v) ? v : null;
}

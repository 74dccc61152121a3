using DeepShrink.Core;

namespace DeepShrink.Format;

/// <summary>
/// Model checkpoints as safetensors files: float32 tensors by dotted name (<c>fc1.weight</c>) plus
/// a string metadata map. The model zoo stores the architecture in <see cref="ArchKey"/> and its
/// JSON configuration in <see cref="ConfigKey"/>.
/// </summary>
public static class Checkpoint
{
    /// <summary>Metadata key holding the architecture name (e.g. <c>lenet-300-100</c>).</summary>
    public const string ArchKey = "deepshrink.arch";
    /// <summary>Metadata key holding the architecture's JSON configuration.</summary>
    public const string ConfigKey = "deepshrink.config";

    /// <summary>Atomically writes tensors (as F32) and metadata to <paramref name="path"/>.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var st = new Dictionary<string, SafetensorsTensor>(tensors.Count, StringComparer.Ordinal);
        foreach (var (name, t) in tensors) st.Add(name, SafetensorsTensor.FromTensor(t ?? throw new ArgumentNullException(nameof(tensors), $"tensor '{name}' is null")));
        SafetensorsWriter.Write(path, st, metadata);
    }

    /// <summary>
    /// Reads a checkpoint. Every tensor is returned as float32: F16, BF16 and F64 are converted,
    /// integer dtypes (e.g. PyTorch's I64 <c>num_batches_tracked</c>) are converted to float too.
    /// </summary>
    /// <exception cref="SafetensorsException">The file is malformed.</exception>
    public static CheckpointData Load(string path)
    {
        var file = SafetensorsReader.Read(path);
        var tensors = new SortedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in file.Tensors) tensors.Add(name, t.ToTensor());
        return new CheckpointData(tensors, file.Metadata);
    }
}

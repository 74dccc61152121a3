using System.Globalization;
using DeepShrink.Core;
using DeepShrink.Format;
using DeepShrink.Nn;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Compression;

/// <summary>A zoo model together with what is needed to rebuild and feed it.</summary>
/// <param name="Model">The network (eval mode).</param>
/// <param name="Arch">Zoo architecture name.</param>
/// <param name="Config">Architecture config.</param>
/// <param name="Metadata">All stored metadata (normalisation, dataset, accuracy, ...).</param>
public sealed record StoredModel(Module Model, string Arch, ModelConfig Config, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>Sample shape [C, H, W].</summary>
    public int[] SampleShape => new[] { Config.InChannels, Config.ImageSize, Config.ImageSize };
    /// <summary>Metadata value or null.</summary>
    public string? Meta(string key) => Metadata.TryGetValue(key, out var v) ? v : null;
}

/// <summary>
/// Saves and loads zoo models as safetensors checkpoints whose <c>__metadata__</c> carries the
/// architecture name and config, so every verb can rebuild the model from the file alone.
/// </summary>
public static class ModelStore
{
    /// <summary>Metadata key: JSON normalisation used for training inputs.</summary>
    public const string NormalizationKey = "deepshrink.normalization";
    /// <summary>Metadata key: dataset spec trained on.</summary>
    public const string DatasetKey = "deepshrink.dataset";
    /// <summary>Metadata key: validation split size carved from the training set.</summary>
    public const string ValidationCountKey = "deepshrink.validation_count";
    /// <summary>Metadata key: validation split seed.</summary>
    public const string ValidationSeedKey = "deepshrink.validation_seed";
    /// <summary>Metadata key: test accuracy measured after training.</summary>
    public const string AccuracyKey = "deepshrink.test_accuracy";

    /// <summary>Writes a checkpoint atomically.</summary>
    public static void Save(string path, Module model, string arch, ModelConfig config, IDictionary<string, string>? extra = null)
    {
        var meta = new Dictionary<string, string>
        {
            [Checkpoint.ArchKey] = arch,
            [Checkpoint.ConfigKey] = config.ToJson(),
        };
        if (extra is not null) foreach (var (k, v) in extra) meta[k] = v;
        Checkpoint.Save(path, model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ContiguousData()), meta);
    }

    /// <summary>Loads a checkpoint and rebuilds its model.</summary>
    public static StoredModel Load(string path)
    {
        var data = Checkpoint.Load(path);
        if (!data.Metadata.TryGetValue(Checkpoint.ArchKey, out var arch))
            throw new FormatException($"{path}: checkpoint has no '{Checkpoint.ArchKey}' metadata (not written by DeepShrink?)");
        var config = data.Metadata.TryGetValue(Checkpoint.ConfigKey, out var cj) ? ModelConfig.FromJson(cj) : new ModelConfig();
        var model = ModelZoo.Create(arch, config, new Rng(0));
        try { model.LoadStateDict(data.Tensors); }
        catch (ArgumentException e) { throw new FormatException($"{path}: {e.Message}"); }
        model.Eval();
        return new StoredModel(model, arch, config, data.Metadata);
    }

    /// <summary>Rebuilds a zoo model from arch/config and a tensor dictionary (e.g. decoded from .dsz).</summary>
    public static Module Rebuild(string arch, ModelConfig config, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var model = ModelZoo.Create(arch, config, new Rng(0));
        model.LoadStateDict(tensors);
        model.Eval();
        return model;
    }

    /// <summary>Invariant formatting of a double for metadata.</summary>
    public static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

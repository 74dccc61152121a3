using System.Globalization;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Nn.IO;

/// <summary>A model loaded from a file: the trainable graph module and the file's metadata.</summary>
/// <param name="Model">The network (eval mode).</param>
/// <param name="Metadata">All stored metadata (normalisation, dataset, accuracy, ...).</param>
public sealed record LoadedModel(GraphModule Model, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>Per-sample input shape, e.g. [1, 28, 28].</summary>
    public int[] SampleShape => Model.InputShape;
    /// <summary>Per-sample output shape, e.g. [10].</summary>
    public int[] OutputShape => Model.OutputShapeOfGraph;
    /// <summary>The zoo architecture the model was created as, or <c>graph</c>.</summary>
    public string Arch => Meta(Checkpoint.ArchKey) ?? "graph";
    /// <summary>Metadata value or null.</summary>
    public string? Meta(string key) => Metadata.TryGetValue(key, out var v) ? v : null;
    /// <summary>The zoo config stored with the model (defaults when none is stored).</summary>
    public ModelConfig Config => Meta(Checkpoint.ConfigKey) is { } cj ? ModelConfig.FromJson(cj) : new ModelConfig();
}

/// <summary>
/// Loads and saves models of every kind DeepShrink writes, from the file alone: a safetensors
/// checkpoint whose metadata holds the graph (<see cref="GraphKey"/>), an older checkpoint holding a
/// zoo architecture name (rebuilt from the zoo), and a <c>.dsz</c> container (its graph and decoded
/// tensors). Shapes come from the file, so a model whose channels were removed or whose layers were
/// factorised reloads as it is.
/// </summary>
public static class ModelIO
{
    /// <summary>Checkpoint metadata key holding the model graph JSON.</summary>
    public const string GraphKey = "deepshrink.graph";
    /// <summary>Metadata key: JSON normalisation used for training inputs.</summary>
    public const string NormalizationKey = "deepshrink.normalization";
    /// <summary>Metadata key: dataset spec trained on.</summary>
    public const string DatasetKey = "deepshrink.dataset";
    /// <summary>Metadata key of the colour channel order the model reads (comma-separated image channel per model channel, e.g. <c>2,1,0</c> for BGR); absent means RGB.</summary>
    public const string ChannelOrderKey = "deepshrink.channel_order";
    /// <summary>Metadata key: validation split size carved from the training set.</summary>
    public const string ValidationCountKey = "deepshrink.validation_count";
    /// <summary>Metadata key: validation split seed.</summary>
    public const string ValidationSeedKey = "deepshrink.validation_seed";
    /// <summary>Metadata key: test accuracy measured after training.</summary>
    public const string AccuracyKey = "deepshrink.test_accuracy";

    /// <summary>Writes a safetensors checkpoint atomically: the state dict and the graph (with hooks) in the metadata.</summary>
    public static void Save(string path, GraphModule model, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [GraphKey] = model.ToGraph().ToJson(),
        };
        Checkpoint.Save(path, model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ContiguousData()), meta);
    }

    /// <summary>Saves a zoo model: the graph plus the architecture name and config in the metadata.</summary>
    public static void Save(string path, GraphModule model, string arch, ModelConfig config, IReadOnlyDictionary<string, string>? extra = null)
        => Save(path, model, ZooMetadata(arch, config, extra));

    /// <summary>Metadata naming a zoo architecture and config (plus <paramref name="extra"/>).</summary>
    public static Dictionary<string, string> ZooMetadata(string arch, ModelConfig config, IReadOnlyDictionary<string, string>? extra = null)
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal) { [Checkpoint.ArchKey] = arch, [Checkpoint.ConfigKey] = config.ToJson() };
        if (extra is not null) foreach (var (k, v) in extra) meta[k] = v;
        return meta;
    }

    /// <summary>Writes a zoo model as a <c>.dsz</c> file (architecture name and config in the metadata).</summary>
    public static void WriteDsz(string path, GraphModule model, string arch, ModelConfig config, Func<string, Tensor, EncodedTensor?> encode, IReadOnlyDictionary<string, string> metadata)
        => WriteDsz(path, model, encode, ZooMetadata(arch, config, metadata));

    /// <summary>Loads a <c>.safetensors</c> checkpoint or a <c>.dsz</c> file (by content).</summary>
    /// <exception cref="FormatException">The file is not a DeepShrink model or does not fit its graph (one line).</exception>
    public static LoadedModel Load(string path, IEnumerable<INodeHookFactory>? hooks = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"model file not found: {path}", path);
        return IsDsz(path) ? LoadDsz(DszFile.Read(path), hooks) : LoadCheckpoint(path, hooks);
    }

    /// <summary>True when the file starts with the <c>.dsz</c> magic.</summary>
    public static bool IsDsz(string path)
    {
        Span<byte> head = stackalloc byte[4];
        using var f = File.OpenRead(path);
        return f.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && head[0] == 0x89 && head[1] == (byte)'D' && head[2] == (byte)'S' && head[3] == (byte)'Z';
    }

    /// <summary>Loads a safetensors checkpoint (graph metadata, or a zoo architecture for files of the first version).</summary>
    public static LoadedModel LoadCheckpoint(string path, IEnumerable<INodeHookFactory>? hooks = null)
    {
        var data = Checkpoint.Load(path);
        try { return new LoadedModel(Build(data.Metadata, data.Tensors, null, hooks), data.Metadata); }
        catch (FormatException e) { throw new FormatException($"{path}: {e.Message}"); }
    }

    /// <summary>Loads a <c>.dsz</c> container as a trainable model (tensors decoded to dense float32).</summary>
    public static LoadedModel LoadDsz(DszFile file, IEnumerable<INodeHookFactory>? hooks = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.GraphJson is null) throw new DszFormatException("the .dsz file has no model graph");
        return new LoadedModel(Build(file.Metadata, file.DecodeAll(), file.GraphJson, hooks), file.Metadata);
    }

    /// <summary>The graph stored in a <c>.dsz</c> file; <see cref="DszFormatException"/> when missing or invalid.</summary>
    public static ModelGraph GraphOf(DszFile file)
    {
        if (file.GraphJson is null) throw new DszFormatException("the .dsz file has no model graph");
        try { return ModelGraph.FromJson(file.GraphJson); }
        catch (FormatException e) { throw new DszFormatException($"the .dsz model graph is invalid: {e.Message}"); }
    }

    private static GraphModule Build(IReadOnlyDictionary<string, string> meta, IReadOnlyDictionary<string, Tensor> tensors, string? graphJson, IEnumerable<INodeHookFactory>? hooks)
    {
        graphJson ??= meta.TryGetValue(GraphKey, out var gj) ? gj : null;
        if (graphJson is not null)
        {
            ModelGraph graph;
            try { graph = ModelGraph.FromJson(graphJson); }
            catch (FormatException e) { throw new FormatException($"the model graph is invalid: {e.Message}"); }
            return GraphLayers.FromTensors(graph, tensors, hooks);
        }
        if (!meta.TryGetValue(Checkpoint.ArchKey, out var arch))
            throw new FormatException($"no '{GraphKey}' or '{Checkpoint.ArchKey}' metadata (not written by DeepShrink?)");
        var config = meta.TryGetValue(Checkpoint.ConfigKey, out var cj) ? ModelConfig.FromJson(cj) : new ModelConfig();
        GraphModule model;
        try { model = ModelZoo.Create(arch, config, new Rng(0)); }
        catch (ArgumentException e) { throw new FormatException(e.Message); }
        try { model.LoadStateDict(tensors); }
        catch (ArgumentException e) { throw new FormatException(e.Message); }
        model.Eval();
        return model;
    }

    /// <summary>A frozen copy of a model (same graph and weights, own tensors; hooks are not copied).</summary>
    public static GraphModule Copy(GraphModule model, IEnumerable<INodeHookFactory>? hooks = null)
        => GraphLayers.FromTensors(model.ToGraph(), model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone()), hooks);

    /// <summary>Invariant formatting of a double for metadata.</summary>
    public static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// Writes a model as a <c>.dsz</c> file atomically: its graph (with hooks) and every tensor of the
    /// state dict, encoded by <paramref name="encode"/> (null: dense float32).
    /// </summary>
    public static void WriteDsz(string path, GraphModule model, Func<string, Tensor, EncodedTensor?> encode, IReadOnlyDictionary<string, string> metadata)
    {
        var w = new DszWriter();
        w.SetGraphJson(model.ToGraph().ToJson());
        foreach (var (k, v) in metadata) w.SetMetadata(k, v);
        foreach (var (name, t) in model.StateDict())
        {
            var c = t.ContiguousData();
            w.Add(name, encode(name, c) ?? DenseCodec.EncodeF32(c.Span, c.Shape));
        }
        w.WriteTo(path);
    }
}

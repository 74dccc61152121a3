using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Compression;

/// <summary>
/// The convention for storing a whole model in a <c>.dsz</c> file: the graph section holds the
/// <see cref="ModelGraph"/> JSON (what the runtime executes), tensors are named by their dotted
/// parameter/buffer names, and metadata carries <c>deepshrink.arch</c>, <c>deepshrink.config</c>,
/// <c>deepshrink.normalization</c> and <c>deepshrink.dataset</c> so the model can also be rebuilt
/// as a trainable zoo module.
/// </summary>
public static class DszModel
{
    /// <summary>
    /// Writes <paramref name="model"/> atomically. <paramref name="encode"/> chooses the codec per
    /// tensor (return null for the default dense-f32).
    /// </summary>
    public static void Write(string path, Module model, string arch, ModelConfig config,
        Func<string, Tensor, EncodedTensor?> encode, IReadOnlyDictionary<string, string> metadata)
    {
        var sample = new[] { config.InChannels, config.ImageSize, config.ImageSize };
        var graph = model.AppendGraphRoot(sample);
        var w = new DszWriter();
        w.SetGraphJson(graph.ToJson());
        w.SetMetadata(Checkpoint.ArchKey, arch);
        w.SetMetadata(Checkpoint.ConfigKey, config.ToJson());
        foreach (var (k, v) in metadata) w.SetMetadata(k, v);
        foreach (var (name, t) in model.StateDict())
        {
            var c = t.ContiguousData();
            w.Add(name, encode(name, c) ?? DenseCodec.EncodeF32(c.Span, c.Shape));
        }
        w.WriteTo(path);
    }

    /// <summary>The model graph stored in a .dsz file.</summary>
    public static ModelGraph Graph(DszFile file)
    {
        if (file.GraphJson is null) throw new DszFormatException("the .dsz file has no model graph");
        try { return ModelGraph.FromJson(file.GraphJson); }
        catch (FormatException e) { throw new DszFormatException($"the .dsz model graph is invalid: {e.Message}"); }
    }

    /// <summary>Decodes every tensor and rebuilds the zoo module (dense fp32, eval mode).</summary>
    public static StoredModel Decode(DszFile file)
    {
        if (!file.Metadata.TryGetValue(Checkpoint.ArchKey, out var arch))
            throw new DszFormatException($"the .dsz file has no '{Checkpoint.ArchKey}' metadata");
        var config = file.Metadata.TryGetValue(Checkpoint.ConfigKey, out var cj) ? ModelConfig.FromJson(cj) : new ModelConfig();
        var model = ModelZoo.Create(arch, config, new Rng(0));
        // Input quantisers / binarisers recorded on graph nodes are part of the model's function.
        if (file.GraphJson is not null)
        {
            try { Quantization.InputHooks.AttachFromGraph(model, Graph(file)); }
            catch (FormatException e) { throw new DszFormatException($"the .dsz model graph is invalid: {e.Message}"); }
        }
        try { model.LoadStateDict(file.DecodeAll()); }
        catch (ArgumentException e) { throw new DszFormatException($"the .dsz tensors do not match {arch}: {e.Message}"); }
        model.Eval();
        return new StoredModel(model, arch, config, file.Metadata);
    }
}

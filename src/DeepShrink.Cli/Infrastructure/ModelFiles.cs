using DeepShrink.Nn.IO;
using DeepShrink.Compression;
using DeepShrink.Data;

namespace DeepShrink.Cli.Infrastructure;

/// <summary>Opens model files of every supported kind by content (magic bytes) and extension.</summary>
public static class ModelFiles
{
    /// <summary>Kinds of model file.</summary>
    public enum Kind { Safetensors, Dsz, Onnx }

    /// <summary>
    /// The file behind a model argument: a pretrained model's name (e.g. <c>resnet18-imagenet</c>) is
    /// restored through NuGet when missing (see <c>./deepshrink fetch</c>); anything else is a path.
    /// </summary>
    public static string Resolve(string model)
    {
        var pm = DeepShrink.Onnx.Import.PretrainedModels.All.FirstOrDefault(m => m.Name == model);
        if (pm is null || File.Exists(model)) return model;
        return DeepShrink.Onnx.Import.PretrainedModels.Find(pm) ?? DeepShrink.Onnx.Import.PretrainedModels.Fetch(pm, line => Console.Error.WriteLine(line));
    }

    /// <summary>Detects the kind of a model file; one-line error when unknown or missing.</summary>
    public static Kind Detect(string path)
    {
        if (!File.Exists(path)) throw new CliException($"model file not found: {path}");
        var ext = Path.GetExtension(path).ToLowerInvariant();
        Span<byte> head = stackalloc byte[8];
        int n;
        using (var f = File.OpenRead(path)) n = f.ReadAtLeast(head, 8, throwOnEndOfStream: false);
        if (n >= 4 && head[0] == 0x89 && head[1] == (byte)'D' && head[2] == (byte)'S' && head[3] == (byte)'Z') return Kind.Dsz;
        return ext switch
        {
            ".safetensors" => Kind.Safetensors,
            ".dsz" => Kind.Dsz,
            ".onnx" => Kind.Onnx,
            _ => n == 8 && BitConverter.ToUInt64(head) < (ulong)new FileInfo(path).Length ? Kind.Safetensors
                : throw new CliException($"unrecognised model file '{path}' (expected .safetensors, .dsz or .onnx)"),
        };
    }

    /// <summary>Opens a model for inference; <paramref name="kernels"/> applies to .dsz files (the runtime's kernel choice).</summary>
    public static IClassifier Open(string path, DeepShrink.Runtime.KernelPolicy kernels = DeepShrink.Runtime.KernelPolicy.Auto)
    {
        path = Resolve(path);
        switch (Detect(path))
        {
            case Kind.Safetensors:
                var m = ModelIO.Load(path, DeepShrink.Compression.Quantization.InputHooks.Factories);
                return new ModuleClassifier(m.Model, m.SampleShape, ModelInput.FromMetadata(m.Meta), m.Meta(ModelIO.DatasetKey));
            case Kind.Dsz:
                return DszModels.Open(path, kernels);
            default:
                return OnnxModels.Open(path);
        }
    }

    /// <summary>
    /// Loads a model file as a trainable graph model (.safetensors, .dsz, or .onnx imported on the fly;
    /// <paramref name="globalPool"/>: an ONNX AveragePool covering its whole input becomes global
    /// average pooling, so the model takes other image sizes); one-line errors.
    /// </summary>
    public static LoadedModel LoadTrainable(string path, bool globalPool = false)
    {
        path = Resolve(path);
        var kind = Detect(path);
        if (kind == Kind.Onnx)
        {   // imported on the fly, with the metadata `./deepshrink import` records (preprocessing included)
            var (imported, meta, _, _) = Commands.ImportCommand.Load(path, globalPool, "auto");
            meta.Remove(ModelIO.GraphKey);
            return new LoadedModel(DeepShrink.Nn.GraphLayers.FromTensors(imported.Graph, imported.Tensors), meta);
        }
        return ModelIO.Load(path, DeepShrink.Compression.Quantization.InputHooks.Factories);
    }

    /// <summary>Parses a stored normalisation (null when absent).</summary>
    public static Normalization? NormOf(string? json) => json is null ? null : Normalization.FromJson(json);
}

using DeepShrink.Core.Graph;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn;
using Google.Protobuf;

namespace DeepShrink.Onnx;

/// <summary>Writes ONNX files from DeepShrink model files (a .dsz, or a module with its metadata).</summary>
public static class OnnxExport
{
    /// <summary>
    /// Exports a <c>.dsz</c> model: its graph, its metadata, int8 tensors as int8 initializers + DequantizeLinear
    /// (QDQ), every other tensor decoded to dense float32.
    /// </summary>
    public static void FromDsz(DszFile file, string outPath)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.GraphJson is null) throw new DszFormatException("the .dsz file has no model graph");
        ModelGraph graph;
        try { graph = ModelGraph.FromJson(file.GraphJson); }
        catch (FormatException e) { throw new DszFormatException($"the .dsz model graph is invalid: {e.Message}"); }
        var used = graph.ParameterNames().ToHashSet(StringComparer.Ordinal);
        var stored = file.Tensors.Where(t => used.Contains(t.Name)).ToList();
        var tensors = stored.ToDictionary(t => t.Name, t => t.Decode(), StringComparer.Ordinal);
        var int8 = stored.Where(t => t.Encoded.Codec == Int8Codec.CodecName)
            .ToDictionary(t => t.Name, t => Int8Codec.Open(t.Encoded), StringComparer.Ordinal);
        Write(OnnxExporter.Build(graph, tensors, file.Metadata, int8), outPath);
    }

    /// <summary>Exports a module (eval-mode graph of <see cref="ModuleGraphExtensions.AppendGraphRoot"/>, its state dict).</summary>
    public static void FromModule(Module model, int[] sampleShape, IReadOnlyDictionary<string, string> metadata, string outPath)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.AppendGraphRoot(sampleShape);
        var tensors = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ContiguousData(), StringComparer.Ordinal);
        Write(OnnxExporter.Build(graph, tensors, metadata), outPath);
    }

    private static void Write(global::Onnx.ModelProto model, string outPath) => AtomicFile.Write(outPath, s => model.WriteTo(s));
}

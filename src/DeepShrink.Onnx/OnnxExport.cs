using DeepShrink.Core.Graph;
using DeepShrink.Format;
using DeepShrink.Nn;
using Google.Protobuf;

namespace DeepShrink.Onnx;

/// <summary>Writes ONNX files from DeepShrink model files (a .dsz, or a module with its metadata).</summary>
public static class OnnxExport
{
    /// <summary>Exports a <c>.dsz</c> model: its graph, every tensor decoded to dense float32, its metadata.</summary>
    public static void FromDsz(DszFile file, string outPath)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.GraphJson is null) throw new DszFormatException("the .dsz file has no model graph");
        ModelGraph graph;
        try { graph = ModelGraph.FromJson(file.GraphJson); }
        catch (FormatException e) { throw new DszFormatException($"the .dsz model graph is invalid: {e.Message}"); }
        var used = graph.ParameterNames().ToHashSet(StringComparer.Ordinal);
        var tensors = file.Tensors.Where(t => used.Contains(t.Name)).ToDictionary(t => t.Name, t => t.Decode(), StringComparer.Ordinal);
        Write(OnnxExporter.Build(graph, tensors, file.Metadata), outPath);
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

using DeepShrink.Compression.Quantization;
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format;
using DeepShrink.Nn;
using DeepShrink.Nn.IO;

namespace DeepShrink.Compression;

/// <summary>The layers of a model file (.safetensors or .dsz) with their MACs and stored weights, for energy estimates and reports.</summary>
public static class ModelFileLayers
{
    /// <summary>One <see cref="EnergyLayer"/> per graph node, in execution order (parameter-free nodes have no weights).</summary>
    public static List<EnergyLayer> Read(string path)
    {
        if (ModelIO.IsDsz(path))
        {
            var file = DszFile.Read(path);
            var stats = file.Tensors.ToDictionary(t => t.Name, t => (t, s: t.ComputeStats()));
            return Layers(ModelIO.GraphOf(file), n => stats.TryGetValue(n, out var e) ? e.t.Shape.ToArray() : throw new FormatException($"graph references tensor '{n}' which the file lacks"),
                n => { var (t, s) = stats[n]; return (s.Nonzeros, s.PayloadBytes, t.Codec, t.Codec == "lowrank" && s.Elements > 0 ? (double)s.StoredEntries / s.Elements : (double?)null); });
        }
        return Read(ModelIO.Load(path, InputHooks.Factories));
    }

    /// <summary>Layers of a loaded (dense) model: each parameter tensor at 32 bits per element, its non-zeros counted.</summary>
    public static List<EnergyLayer> Read(LoadedModel m)
    {
        var tensors = m.Model.StateDict();
        return Layers(m.Model.AppendGraphRoot(m.SampleShape), n => tensors[n].Shape, n =>
        {
            var t = tensors[n];
            long nz = 0;
            foreach (var v in t.Span) if (v != 0f) nz++;
            return (nz, 4L * t.Size, "dense-f32", null);
        });
    }

    /// <summary>Layers of <paramref name="graph"/>: per node its MACs and the sum over its parameter tensors (codec of the largest).</summary>
    public static List<EnergyLayer> Layers(ModelGraph graph, Func<string, int[]> shapeOf, Func<string, (long Nonzeros, long Bytes, string Codec, double? ComputeFraction)> tensorInfo)
    {
        var layers = new List<EnergyLayer>();
        foreach (var info in GraphAnalysis.Analyze(graph, shapeOf))
        {
            long p = 0, nz = 0, bytes = 0, largest = -1;
            string codec = "dense-f32";
            double? fraction = null;
            foreach (var name in info.Node.Params.Values)
            {
                long size = ShapeUtil.Numel(shapeOf(name));
                var t = tensorInfo(name);
                p += size; nz += t.Nonzeros; bytes += t.Bytes;
                if (size > largest) { largest = size; codec = t.Codec; fraction = t.ComputeFraction; }
            }
            layers.Add(new EnergyLayer(info.Node.Name, info.Macs, p, nz, bytes, codec, fraction));
        }
        return layers;
    }
}

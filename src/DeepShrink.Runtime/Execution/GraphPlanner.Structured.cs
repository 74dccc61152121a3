using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Core.Kernels;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Runtime.Execution;

internal sealed partial class GraphPlanner
{
    /// <summary>
    /// shared_conv2d nodes become conv2d nodes whose full filter bank is expanded once at load from the stored
    /// filters (<see cref="StructuredLowering"/>), so they then take every conv path (packing, batch-norm folding).
    /// circulant_linear nodes with blocks smaller than <paramref name="fftMinBlock"/> become linear nodes with their
    /// explicit matrix: below the measured crossover (64 at batch 1, docs/RESULTS.md) three FFT calls per block cost
    /// more than the dense product (4 x 4 blocks on LeNet-300-100: 0.108 ms against 0.025 ms dense).
    /// </summary>
    private static (ModelGraph, Func<string, EncodedTensor?>) ExpandSharedFilters(ModelGraph graph, Func<string, EncodedTensor?> tensors, DszReadOptions read, int fftMinBlock)
    {
        bool circulant = fftMinBlock > 1;   // lowering reads only the tensors of the nodes it rewrites
        if (!StructuredLowering.Needed(graph, circulant)) return (graph, tensors);
        var expanded = new Dictionary<string, EncodedTensor>(StringComparer.Ordinal);
        EncodedTensor Stored(string name) => tensors(name) ?? throw new InvalidDataException($"tensor '{name}' is not in the model");
        var lowered = StructuredLowering.Lower(graph, circulant,
            name => tensors(name)?.ShapeArray(),
            name => WeightCandidates.Guard(name, () => Stored(name).Decode(read.MaxTensorElements)),
            (name, shape, data) => expanded[name] = DenseCodec.EncodeF32(data, shape),
            a => a.Shape.BlockSize < fftMinBlock);
        return (lowered, name => expanded.TryGetValue(name, out var t) ? t : tensors(name));
    }

    /// <summary>circulant_linear: the weight spectra are computed once here, each batch runs the FFT path.</summary>
    private (Step, int[]) PlanCirculant(GraphNode n, (int[] Shape, int Storage) x)
    {
        Expect(x.Shape, 1, "[in_features]");
        var w = Param(n, "weight");
        var name = n.Params["weight"];
        var a = CirculantAttrs.Of(n, w.ShapeArray(), x.Shape);
        var blocks = WeightCandidates.Guard(name, () => w.Decode(_options.ReadOptions.MaxTensorElements));
        var bias = Vector(n, "bias", a.OutFeatures, optional: true);
        var spectra = new float[a.Shape.OutBlocks * a.Shape.InBlocks * a.Shape.SpectrumFloats];
        BlockCirculantKernels.WeightSpectra(a.Shape, blocks, spectra, _threads);
        var step = new CirculantStep(n.Name, x.Storage, a, spectra, a.Signs(), bias);
        _layers.Add(new LayerReport(n.Name, n.Op, w.Codec, "circulant-fft", a.OutFeatures, a.InFeatures, a.Macs, spectra.Length * 4L, new Dictionary<string, double>()));
        return (step, [a.OutFeatures]);
    }
}

using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Core.Graph;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;
using DeepShrink.Runtime.Kernels;

namespace DeepShrink.Bench;

/// <summary>
/// One pruned fully connected layer of a .dsz, ready for batch-1 timing three ways: the runtime's
/// compressed kernel (<see cref="SparseMatrix"/>), the runtime's dense kernel (<see cref="DenseMatrix"/>,
/// a GEMV over the decoded weights) and the dense engine's <see cref="Ops.Linear"/>.
/// </summary>
internal sealed class ModelFcLayer
{
    public required string Name { get; init; }
    public required long Weights { get; init; }
    public required double Density { get; init; }
    public required long CompressedBytes { get; init; }
    public required Action RunCompressed { get; init; }
    public required Action RunDenseKernel { get; init; }
    public required Action RunNnLinear { get; init; }
}

/// <summary>Finds the sparse-coded linear layers of a .dsz file.</summary>
internal static class ModelFcLayers
{
    public static List<ModelFcLayer> Open(string dszPath, int threads)
    {
        var file = DszFile.Read(dszPath);
        var graph = ModelGraph.FromJson(file.GraphJson ?? throw new DszFormatException("the .dsz file has no model graph"));
        var layers = new List<ModelFcLayer>();
        foreach (var n in graph.Nodes.Where(n => n.Op == "linear"))
        {
            var w = file[n.Params["weight"]];
            if (w.Codec is not (SparseCodebookCodec.CodecName or SparseF32Codec.CodecName)) continue;
            var st = w.Codec == SparseF32Codec.CodecName ? SparseF32Codec.Open(w.Encoded) : SparseCodebookCodec.Open(w.Encoded);
            var sparse = SparseMatrix.FromSparseTensor(st);
            var wt = w.Decode();
            int rows = wt.Shape[0], cols = wt.Shape[1];
            var dense = new DenseMatrix(wt.Storage, rows, cols);
            var bias = n.Params.TryGetValue("bias", out var b) ? file[b].Decode() : null;
            var x = Tensor.Randn(new Rng(3), 1f, 1, cols);
            var y = new float[rows];
            layers.Add(new ModelFcLayer
            {
                Name = n.Name, Weights = (long)rows * cols, Density = (double)sparse.Nonzeros / ((long)rows * cols),
                CompressedBytes = sparse.StorageBytes,
                RunCompressed = () => sparse.MultiplyRows(x.Storage, 1, y, threads),
                RunDenseKernel = () => dense.MultiplyRows(x.Storage, 1, y, threads),
                RunNnLinear = () => { using var _ = Engine.NoGrad(); Ops.Linear(x, wt, bias); },
            });
        }
        return layers;
    }
}

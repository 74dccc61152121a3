using DeepShrink.Format;
using DeepShrink.Format.Codecs;
using DeepShrink.Runtime.Kernels;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// The storage forms a stored weight tensor can run in: its compressed form when the codec has a
/// kernel (sparse, codebook, low-rank, or a mostly-zero dense tensor), and dense float32 always.
/// Each candidate is one matrix per convolution group (rows split evenly).
/// </summary>
internal static class WeightCandidates
{
    /// <summary>Dense tensors at least this sparse also get a sparse candidate.</summary>
    private const double SparseCandidateMinZeros = 0.5;

    /// <summary>Compressed candidates (maybe none) and the dense one (built lazily: it costs a decode).</summary>
    /// <param name="t">The stored weight tensor.</param>
    /// <param name="name">Its name (for errors).</param>
    /// <param name="groups">Convolution groups (1 for linear).</param>
    /// <param name="read">Decoding limits.</param>
    /// <param name="transform">The node's input transform: int8 weights with a quantised input get an integer
    /// candidate (<see cref="Int8Matrix"/>), binary weights with a binary input an <see cref="XnorMatrix"/>.</param>
    public static (List<IWeightMatrix[]> Compressed, Func<IWeightMatrix[]> Dense) Build(EncodedTensor t, string name, int groups, DszReadOptions read, InputTransform? transform = null)
    {
        int rows = t.Shape[0], cols = (int)(t.ElementCount / Math.Max(1, rows)), per = rows / groups;
        var compressed = new List<IWeightMatrix[]>();
        float[]? decoded = null;
        float[] Decoded() => decoded ??= Guard(name, () => t.Decode(read.MaxTensorElements));
        Guard(name, () =>
        {
            switch (t.Codec)
            {
                case SparseCodebookCodec.CodecName or SparseF32Codec.CodecName:
                    var st = t.Codec == SparseF32Codec.CodecName ? SparseF32Codec.Open(t) : SparseCodebookCodec.Open(t);
                    compressed.Add(Groups(groups, g => SparseMatrix.FromSparseTensor(st, g * per, per)));
                    break;
                case CodebookCodec.CodecName:
                    var cb = CodebookCodec.Open(t);
                    var codes = new int[cb.Indices.Length];
                    for (int i = 0; i < codes.Length; i++) codes[i] = cb.Indices[i];
                    var cents = cb.Centroids.ToArray();
                    compressed.Add(Groups(groups, g => SparseMatrix.FromCodebook(codes.AsSpan(g * per * cols, per * cols), cents, per, cols)));
                    break;
                case Int8Codec.CodecName when transform is QuantInput q && groups == 1:
                    var i8 = Int8Codec.Open(t);
                    if (Int8Matrix.TryCreate(i8, rows, cols, q.Scale, q.ZeroPoint, q.Min, q.Max, out _) is { } im)
                        compressed.Add([im]);
                    break;
                case BinaryCodec.CodecName when groups == 1:
                    var bt = BinaryCodec.Open(t);
                    if (transform is BinaryInput) compressed.Add([new XnorMatrix(bt, rows, cols)]);
                    compressed.Add([new BinaryWeightMatrix(bt, rows, cols)]);
                    break;
                case LowRankCodec.CodecName when groups == 1:
                    compressed.Add([LowRankMatrix.FromTensor(LowRankCodec.Open(t))]);
                    break;
                default:
                    var d = Decoded();
                    if (d.Length > 0 && Zeros(d) >= SparseCandidateMinZeros * d.Length)
                        compressed.Add(Groups(groups, g => SparseMatrix.FromDense(d.AsSpan(g * per * cols, per * cols), per, cols)));
                    break;
            }
            return 0;
        });
        return (compressed, () =>
        {
            var d = Decoded();
            return Groups(groups, g => new DenseMatrix(groups == 1 ? d : d.AsSpan(g * per * cols, per * cols).ToArray(), per, cols));
        });
    }

    /// <summary>
    /// The transform the step still applies when <paramref name="chosen"/> runs: none for an
    /// <see cref="Int8Matrix"/>, which quantises its own input.
    /// </summary>
    public static InputTransform? StepTransform(IWeightMatrix[] chosen, InputTransform? transform) =>
        chosen.Length > 0 && chosen[0] is Int8Matrix ? null : transform;

    private static IWeightMatrix[] Groups(int groups, Func<int, IWeightMatrix> make)
    {
        var r = new IWeightMatrix[groups];
        for (int g = 0; g < groups; g++) r[g] = make(g);
        return r;
    }

    private static int Zeros(ReadOnlySpan<float> d)
    {
        int z = 0;
        foreach (float v in d) if (v == 0f) z++;
        return z;
    }

    /// <summary>Runs a decode step, naming the tensor in format errors.</summary>
    public static T Guard<T>(string name, Func<T> action)
    {
        try { return action(); }
        catch (DszFormatException e) { throw e.WithContext($"tensor '{name}'"); }
    }
}

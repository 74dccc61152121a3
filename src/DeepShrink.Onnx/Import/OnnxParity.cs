using DeepShrink.Core;
using DeepShrink.Format.Codecs;
using DeepShrink.Runtime;

namespace DeepShrink.Onnx.Import;

/// <summary>How closely our runtime reproduces ONNX Runtime on an imported model.</summary>
/// <param name="Samples">Inputs compared.</param>
/// <param name="MaxAbsDiff">Largest |ours - ORT| over every output value.</param>
/// <param name="MinCosine">Smallest cosine similarity between the two outputs of one sample.</param>
/// <param name="MaxAbsReference">Largest |ORT| output value (the scale the difference is measured against).</param>
public sealed record ParityResult(int Samples, double MaxAbsDiff, double MinCosine, double MaxAbsReference);

/// <summary>Runs an imported graph in <see cref="InferenceModel"/> (dense float32 weights) and the original file in ONNX Runtime on the same inputs.</summary>
public static class OnnxParity
{
    /// <summary>Our runtime on the imported graph with its dense float32 tensors.</summary>
    public static InferenceModel Load(ImportedModel model, RuntimeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return InferenceModel.LoadDense(model.Graph, model.Tensors, null, options);
    }

    /// <summary>
    /// Compares per sample: <paramref name="inputs"/> holds <paramref name="count"/> samples of the graph's
    /// input shape. ONNX Runtime runs one sample at a time (files with a fixed batch of 1 accept nothing
    /// else); ours runs batches of up to 8.
    /// </summary>
    public static ParityResult Compare(ImportedModel model, string onnxPath, ReadOnlySpan<float> inputs, int count, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        var ours = Load(model, threads > 0 ? RuntimeOptions.Default with { Threads = threads } : null);
        return Compare(ours, model.Graph.InputShape, onnxPath, inputs, count, threads);
    }

    /// <summary>
    /// Runs <paramref name="count"/> samples through our runtime model <paramref name="ours"/> (batches of 8)
    /// and through ONNX Runtime on <paramref name="onnxPath"/> (one at a time, so fixed-batch files work)
    /// and compares the outputs.
    /// </summary>
    public static ParityResult Compare(InferenceModel ours, int[] sampleShape, string onnxPath, ReadOnlySpan<float> inputs, int count, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(ours);
        int sample = ShapeUtil.Numel(sampleShape);
        if (count < 1 || inputs.Length != (long)count * sample)
            throw new ArgumentException($"inputs hold {inputs.Length} values, {count} samples of {ShapeUtil.Format(sampleShape)} need {(long)count * sample}");
        using var ort = new OnnxSession(onnxPath, threads);
        int outSize = ours.OutputSize;
        var y = new float[(long)count * outSize];
        for (int start = 0; start < count; start += 8)
        {
            int b = Math.Min(8, count - start);
            ours.Run(inputs.Slice(start * sample, b * sample), b, y.AsSpan(start * outSize, b * outSize));
        }
        double maxDiff = 0, minCos = 1, maxRef = 0;
        for (int i = 0; i < count; i++)
        {
            var (r, _) = ort.Run(inputs.Slice(i * sample, sample).ToArray(), 1);
            if (r.Length != outSize) throw new InvalidDataException($"ONNX Runtime gives {r.Length} outputs per sample, ours {outSize}");
            double dot = 0, nr = 0, no = 0;
            for (int j = 0; j < outSize; j++)
            {
                double a = y[(long)i * outSize + j], e = r[j];
                maxDiff = Math.Max(maxDiff, Math.Abs(a - e));
                maxRef = Math.Max(maxRef, Math.Abs(e));
                dot += a * e; nr += e * e; no += a * a;
            }
            double cos = nr == 0 && no == 0 ? 1 : dot / Math.Sqrt(Math.Max(nr * no, double.Epsilon));
            minCos = Math.Min(minCos, cos);
        }
        return new ParityResult(count, maxDiff, minCos, maxRef);
    }
}

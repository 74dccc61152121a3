using DeepShrink.Core;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace DeepShrink.Onnx;

/// <summary>
/// An ONNX model in ONNX Runtime with float32 input <c>[batch, sample...]</c> and one output,
/// run with a fixed intra-op thread count and sequential execution (the benchmark settings).
/// </summary>
/// <remarks>Thread-safe: ONNX Runtime allows concurrent <c>Run</c> calls on one session.</remarks>
public sealed class OnnxSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _run = new();
    private readonly string[] _inputNames, _outputNames;

    /// <summary>Opens a model file.</summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="threads">Intra-op threads (0 = <see cref="Parallelism.Degree"/>).</param>
    public OnnxSession(string path, int threads = 0)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model not found: {path}", path);
        using var options = Options(threads);
        try { _session = new InferenceSession(path, options); }
        catch (OnnxRuntimeException e) { throw new InvalidDataException($"{path}: ONNX Runtime cannot load it: {OneLine(e.Message)}", e); }
        if (_session.InputMetadata.Count != 1 || _session.OutputMetadata.Count < 1)
            throw new InvalidDataException($"{path}: expected one input and at least one output, found {_session.InputMetadata.Count} inputs and {_session.OutputMetadata.Count} outputs");
        var (inName, inMeta) = _session.InputMetadata.First();
        if (inMeta.ElementDataType != TensorElementType.Float)
            throw new InvalidDataException($"{path}: input '{inName}' is {inMeta.ElementDataType}, only float32 inputs are supported");
        var dims = inMeta.Dimensions;
        if (dims.Length < 2 || dims.Skip(1).Any(d => d <= 0))
            throw new InvalidDataException($"{path}: input '{inName}' has shape [{string.Join(", ", dims)}]; expected [batch, fixed sample dims...]");
        _inputNames = [inName];
        _outputNames = [_session.OutputMetadata.First().Key];
        SampleShape = dims[1..];
        FixedBatch = dims[0] > 0 ? dims[0] : null;
        Metadata = new Dictionary<string, string>(_session.ModelMetadata.CustomMetadataMap, StringComparer.Ordinal);
    }

    /// <summary>Shape of one input sample.</summary>
    public int[] SampleShape { get; }

    /// <summary>The batch size the file fixes (e.g. 1 for CNTK's ResNet18), or null when the batch axis is dynamic.</summary>
    public int? FixedBatch { get; }

    /// <summary>The model's <c>metadata_props</c>.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Runs a batch and returns the output values with their shape.</summary>
    public (float[] Values, int[] Shape) Run(float[] input, int batch)
    {
        ArgumentNullException.ThrowIfNull(input);
        int sample = ShapeUtil.Numel(SampleShape);
        if (batch < 1 || input.Length != (long)batch * sample)
            throw new ArgumentException($"input has {input.Length} elements, a batch of {batch} x [{string.Join(", ", SampleShape)}] needs {(long)batch * sample}");
        long[] shape = [batch, .. SampleShape.Select(d => (long)d)];
        using var x = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var outputs = _session.Run(_run, _inputNames, [x], _outputNames);
        var y = outputs[0];
        var info = y.GetTensorTypeAndShape();
        return (y.GetTensorDataAsSpan<float>().ToArray(), info.Shape.Select(d => (int)d).ToArray());
    }

    /// <summary>Runs a batch into a caller buffer of exactly the output size (no output allocation).</summary>
    public void Run(float[] input, int batch, float[] output, int[] outputSampleShape)
    {
        long[] inShape = [batch, .. SampleShape.Select(d => (long)d)];
        long[] outShape = [batch, .. outputSampleShape.Select(d => (long)d)];
        using var x = OrtValue.CreateTensorValueFromMemory(input, inShape);
        using var y = OrtValue.CreateTensorValueFromMemory(output, outShape);
        _session.Run(_run, _inputNames, [x], _outputNames, [y]);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _session.Dispose();
        _run.Dispose();
    }

    private static SessionOptions Options(int threads)
    {
        var o = new SessionOptions
        {
            IntraOpNumThreads = threads > 0 ? threads : Parallelism.Degree,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        return o;
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}

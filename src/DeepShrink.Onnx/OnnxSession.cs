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
    public OnnxSession(string path, int threads = 0) : this(path, Options(threads), owned: true) { }

    private OnnxSession(string path, SessionOptions options, bool owned = false)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model not found: {path}", path);
        using var own = owned ? options : null;
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

    /// <summary>
    /// Per-node times of ONNX Runtime at one batch: a separate session with ONNX Runtime's profiler on runs
    /// <paramref name="calls"/> times after one warm-up; each node's kernel time (its profiler's "Node" events, after
    /// graph optimisation and fusion) is reported as the median over the calls, in graph order.
    /// </summary>
    public static IReadOnlyList<(string Node, string Op, double MedianMicros)> ProfileNodes(string path, int threads, float[] input, int batch, int[] outputSampleShape, int calls)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(calls, 1);
        string dir = Directory.CreateTempSubdirectory("dsortprof-").FullName;
        try
        {
            using var options = Options(threads);
            options.ProfileOutputPathPrefix = Path.Combine(dir, "ort"); // read when profiling is switched on: set it first
            options.EnableProfiling = true;
            string file;
            using (var s = new OnnxSession(path, options))
            {
                int sample = ShapeUtil.Numel(outputSampleShape);
                var y = new float[(long)batch * sample];
                for (int c = 0; c <= calls; c++) s.Run(input, batch, y, outputSampleShape);
                file = s._session.EndProfiling();
            }
            if (!Path.IsPathRooted(file)) file = Path.Combine(Environment.CurrentDirectory, file);
            return ParseProfile(File.ReadAllText(file), calls);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>Median kernel time per node over the last <paramref name="calls"/> runs of an ONNX Runtime profile.</summary>
    internal static IReadOnlyList<(string Node, string Op, double MedianMicros)> ParseProfile(string json, int calls)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var order = new List<string>();
        var ops = new Dictionary<string, string>(StringComparer.Ordinal);
        var times = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (!e.TryGetProperty("cat", out var cat) || cat.GetString() != "Node") continue;
            string name = e.GetProperty("name").GetString() ?? "";
            const string suffix = "_kernel_time";
            if (!name.EndsWith(suffix, StringComparison.Ordinal)) continue;
            name = name[..^suffix.Length];
            if (!times.TryGetValue(name, out var list))
            {
                times[name] = list = [];
                order.Add(name);
                ops[name] = e.TryGetProperty("args", out var a) && a.TryGetProperty("op_name", out var op) ? op.GetString() ?? "" : "";
            }
            list.Add(e.GetProperty("dur").GetDouble());
        }
        return order.Select(n =>
        {
            var t = times[n].Skip(Math.Max(0, times[n].Count - calls)).Order().ToArray();
            return (n, ops[n], t[t.Length / 2]);
        }).ToArray();
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

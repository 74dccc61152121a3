using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;
using DeepShrink.Runtime.Execution;

namespace DeepShrink.Runtime;

/// <summary>
/// A compressed model ready for inference: loads a <c>.dsz</c> file (graph + per-tensor codecs) and
/// runs it straight from the compressed weights — sparse x codebook kernels for pruned and shared
/// layers, factored products for low-rank ones, dense float32 only where a load-time measurement
/// shows dense is faster (or the codec has no compressed kernel).
/// </summary>
/// <remarks>
/// Immutable after loading: any number of threads may call <see cref="Run(ReadOnlySpan{float}, int, Span{float})"/>
/// at once (every call has its own pooled buffers). Supported ops are listed in
/// <see cref="ModelGraph"/>'s remarks. Errors in the file or graph raise
/// <see cref="DszFormatException"/> (codec and container defects) or <see cref="InvalidDataException"/>
/// (graph, op or shape problems) with a one-line message naming the node or tensor.
/// </remarks>
public sealed unsafe partial class InferenceModel
{
    private readonly ExecutionPlan _plan;
    private readonly int _threads;
    private readonly long _macs; // per sample, from the graph; 0 with RuntimeOptions.ImageParallel off

    private InferenceModel(ExecutionPlan plan, IReadOnlyDictionary<string, string> metadata, int threads, long macs)
    {
        _plan = plan; Metadata = metadata; _threads = threads; _macs = macs;
        InputSize = ShapeUtil.Numel(plan.InputShape);
        OutputSize = ShapeUtil.Numel(plan.OutputShape);
        WeightBytes = plan.Layers.Sum(l => l.WeightBytes); // once: every Run reads it (ImagesPerThreadAt)
    }

    /// <summary>Loads a <c>.dsz</c> file.</summary>
    public static InferenceModel Load(string path, RuntimeOptions? options = null)
    {
        options ??= RuntimeOptions.Default;
        return Load(DszFile.Read(path, options.ReadOptions), options);
    }

    /// <summary>Loads a <c>.dsz</c> file already read; the file's bytes are not kept.</summary>
    public static InferenceModel Load(DszFile file, RuntimeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.GraphJson is null) throw new DszFormatException("the .dsz file has no model graph");
        ModelGraph graph;
        try { graph = ModelGraph.FromJson(file.GraphJson); }
        catch (FormatException e) { throw new DszFormatException($"the .dsz model graph is invalid: {e.Message}"); }
        return Load(graph, name => file.TryGetTensor(name, out var t) ? t.Encoded : null, file.Metadata, options);
    }

    /// <summary>
    /// Builds a model from a graph and its float32 weights (a checkpoint or a trained model's state), every
    /// tensor stored dense: what runs an uncompressed model.
    /// </summary>
    public static InferenceModel LoadDense(ModelGraph graph, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null, RuntimeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        return Load(graph, n => tensors.TryGetValue(n, out var t) ? DenseCodec.EncodeF32(t.ContiguousData().Span, t.Shape) : null, metadata, options);
    }

    /// <summary>Builds a model from a graph and a tensor lookup (null for a missing name).</summary>
    public static InferenceModel Load(ModelGraph graph, Func<string, EncodedTensor?> tensors, IReadOnlyDictionary<string, string>? metadata = null, RuntimeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(tensors);
        options ??= RuntimeOptions.Default;
        options.Validate();
        var plan = GraphPlanner.Plan(graph, tensors, options, ResolveThreads(options.Threads));
        long macs = options.ImageParallel ? GraphAnalysis.TotalMacs(graph, n => tensors(n)?.ShapeArray()) : 0;
        return new InferenceModel(plan, new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal), options.Threads, macs);
    }

    /// <summary>Shape of one input sample, e.g. [1, 28, 28].</summary>
    public IReadOnlyList<int> InputShape => _plan.InputShape;
    /// <summary>Shape of one output sample, e.g. [10].</summary>
    public IReadOnlyList<int> OutputShape => _plan.OutputShape;
    /// <summary>Elements of one input sample.</summary>
    public int InputSize { get; }
    /// <summary>Elements of one output sample.</summary>
    public int OutputSize { get; }
    /// <summary>The file's metadata (normalisation, dataset, arch, ...).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>How each weight layer runs (chosen storage, measured costs).</summary>
    public IReadOnlyList<LayerReport> Layers => _plan.Layers;
    /// <summary>Bytes held by all weight matrices (biases and batch-norm vectors not counted).</summary>
    public long WeightBytes { get; }
    /// <summary>Number of executed steps (after folding ReLUs and aliasing flatten/identity).</summary>
    public int StepCount => _plan.Steps.Length;

    /// <summary>Runs a batch: <paramref name="input"/> [batch, InputShape...] to <paramref name="output"/> [batch, OutputShape...].</summary>
    public void Run(ReadOnlySpan<float> input, int batch, Span<float> output)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), $"batch must be >= 1, got {batch}");
        if (input.Length != (long)batch * InputSize)
            throw new ArgumentException($"input has {input.Length} elements, a batch of {batch} x {ShapeUtil.Format(_plan.InputShape)} needs {(long)batch * InputSize}");
        if (output.Length != (long)batch * OutputSize)
            throw new ArgumentException($"output has {output.Length} elements, a batch of {batch} x {ShapeUtil.Format(_plan.OutputShape)} needs {(long)batch * OutputSize}");
        int threads = ResolveThreads(_threads);
        int per = ImagesPerThreadAt(batch);
        if (per == 0) { RunSteps(input, batch, output, threads); return; }
        // image-parallel: each thread runs its own images through the whole network on one thread; what is left
        // over (batch mod threads) runs afterwards with the threads sharing every layer
        int split = per * threads, inSize = InputSize, outSize = OutputSize;
        fixed (float* px = input, py = output)
        {
            float* x = px, y = py;
            WorkerPool.Run(threads, threads, c => RunSteps(
                new ReadOnlySpan<float>(x + (long)c * per * inSize, per * inSize), per,
                new Span<float>(y + (long)c * per * outSize, per * outSize), threads: 1));
        }
        if (split < batch)
            RunSteps(input[(split * inSize)..], batch - split, output[(split * outSize)..], threads);
    }

    /// <summary>
    /// Images each thread runs alone when a batch is shared out image by image (<see cref="RuntimeOptions.ImageParallel"/>;
    /// 0: every layer of the batch is shared among the threads). A batch of at least as many images as threads goes
    /// out in equal whole parts, one per thread: each thread then reads only activations it wrote itself and never
    /// waits for another inside the network, where sharing each layer hands half of every layer's input to the other
    /// core and synchronises the threads several times a layer (measured: docs/RESULTS.md, "Fourteenth session":
    /// ResNet18 at batch 8 1.13-1.18x faster with the host's vCPUs apart, 0.97-1.02x with them together).
    /// </summary>
    /// <remarks>
    /// A part must be worth a thread: at least <see cref="ImageParallelMinMacs"/> multiply-adds (a thread hand-off costs
    /// microseconds; LeNet-300-100 in parts of 4 images, 1.1 M, ran 0.66x as fast as shared, in parts of 8, 2.1 M, 0.98x,
    /// in parts of 32, 1.2-1.3x), and at least one per byte of weights, so that a model whose weights outweigh its
    /// arithmetic (a wide MLP at a small batch) keeps its weights split among the threads instead of every thread
    /// reading all of them.
    /// </remarks>
    internal static int ImagesPerThread(int batch, int threads, long macsPerImage, long weightBytes)
    {
        if (threads < 2 || batch < threads || macsPerImage <= 0) return 0;
        int per = batch / threads;
        long part = per * macsPerImage;
        return part >= ImageParallelMinMacs && part >= weightBytes ? per : 0;
    }

    /// <summary>
    /// How <see cref="Run(ReadOnlySpan{float}, int, Span{float})"/> runs a batch of <paramref name="batch"/>: the images each
    /// thread runs alone (<see cref="RuntimeOptions.ImageParallel"/>), or 0 when every layer is shared among the threads.
    /// </summary>
    public int ImagesPerThreadAt(int batch) => ImagesPerThread(batch, ResolveThreads(_threads), _macs, WeightBytes);

    /// <summary>Fewest multiply-adds in one thread's part of an image-parallel batch (<see cref="ImagesPerThread"/>).</summary>
    internal const long ImageParallelMinMacs = 2_000_000;

    private void RunSteps(ReadOnlySpan<float> input, int batch, Span<float> output, int threads)
    {
        using var frame = new Frame(_plan.StorageCount, batch, threads);
        input.CopyTo(frame.Get(_plan.InputStorage, input.Length));
        var steps = _plan.Steps;
        for (int i = 0; i < steps.Length; i++)
        {
            steps[i].Run(frame);
            foreach (int s in _plan.ReleaseAfter[i]) frame.Release(s);
        }
        frame.Get(_plan.OutputStorage, output.Length).CopyTo(output);
    }

    /// <summary>Runs a batch and returns a new output array.</summary>
    public float[] Run(ReadOnlySpan<float> input, int batch)
    {
        var y = new float[(long)batch * OutputSize];
        Run(input, batch, y);
        return y;
    }

    /// <summary>Runs a tensor [N, InputShape...] and returns [N, OutputShape...].</summary>
    public Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != _plan.InputShape.Length + 1 || !input.Shape.AsSpan(1).SequenceEqual(_plan.InputShape))
            throw new ArgumentException($"input shape {ShapeUtil.Format(input.Shape)} does not match [N, {string.Join(", ", _plan.InputShape)}]");
        int batch = input.Shape[0];
        var y = new Tensor([batch, .. _plan.OutputShape]);
        if (batch > 0) Run(input.ContiguousData().Span, batch, y.Span);
        return y;
    }

    private static int ResolveThreads(int threads) => threads > 0 ? threads : Parallelism.Degree;
}

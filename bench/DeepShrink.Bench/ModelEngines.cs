using DeepShrink.Nn.IO;
using System.Diagnostics;
using DeepShrink.Compression;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;
using DeepShrink.Nn;
using DeepShrink.Onnx;
using DeepShrink.Runtime;

namespace DeepShrink.Bench;

/// <summary>One way of running a model in the benchmark, with what it holds in memory.</summary>
internal sealed class ModelEngine(string name, Action<float[], int, float[]> run, long weightBytes, IDisposable? owner = null) : IDisposable
{
    /// <summary>Key fragment: nn, runtime, runtime_dense, ort.</summary>
    public string Name { get; } = name;
    /// <summary>Bytes of weights the engine holds (see <see cref="ModelBenchmarks"/> remarks).</summary>
    public long WeightBytes { get; } = weightBytes;
    /// <summary>Managed-heap bytes retained after loading and warm-up.</summary>
    public long ManagedBytes { get; set; }
    /// <summary>Process working-set growth over loading and warm-up.</summary>
    public long WorkingSetBytes { get; set; }
    /// <summary>Runs input [batch, sample] into output [batch, classes] (arrays sized exactly).</summary>
    public void Run(float[] x, int batch, float[] y) => run(x, batch, y);
    /// <inheritdoc/>
    public void Dispose() => owner?.Dispose();

    /// <summary>Our training engine: the zoo module's forward under NoGrad (eval mode).</summary>
    public static ModelEngine Dense(LoadedModel m) => new("nn", (x, b, y) =>
    {
        using var _ = Engine.NoGrad();
        m.Model.Forward(new Tensor(x, [b, .. m.SampleShape])).Span.CopyTo(y);
    }, 4 * m.Model.StateDict().Values.Sum(t => (long)t.Size));

    /// <summary>Our runtime on a .dsz (compressed kernels chosen at load).</summary>
    public static ModelEngine Runtime(string name, InferenceModel m) =>
        new(name, (x, b, y) => m.Run(x, b, y), m.WeightBytes);

    /// <summary>Our runtime on the dense checkpoint (dense float32 kernels only).</summary>
    public static InferenceModel DenseRuntime(LoadedModel m, int threads)
        => InferenceModel.LoadDense(m.Model.AppendGraphRoot(m.SampleShape), m.Model.StateDict(), m.Metadata, new RuntimeOptions { Threads = threads, Kernels = KernelPolicy.Dense });

    /// <summary>ONNX Runtime on a dense ONNX export (intra-op threads fixed, sequential execution).</summary>
    public static ModelEngine Ort(string onnxPath, int threads, int[] outputSample)
    {
        var s = new OnnxSession(onnxPath, threads);
        return new ModelEngine("ort", (x, b, y) => s.Run(x, b, y, outputSample), new FileInfo(onnxPath).Length, s);
    }

    /// <summary>Collects garbage left by earlier work so the first engine's deltas start from a settled heap.</summary>
    public static void Settle()
    {
        for (int i = 0; i < 3; i++) Snapshot();
    }

    /// <summary>Loads an engine and records the memory it retains after a warm-up.</summary>
    public static ModelEngine Measured(Func<ModelEngine> load, float[] x, int batch, float[] y)
    {
        var (m0, w0) = Snapshot();
        var e = load();
        for (int i = 0; i < 5; i++) e.Run(x, batch, y);
        var (m1, w1) = Snapshot();
        e.ManagedBytes = m1 - m0;
        e.WorkingSetBytes = w1 - w0;
        return e;
    }

    private static (long Managed, long WorkingSet) Snapshot()
    {
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        using var p = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(true), p.WorkingSet64);
    }
}

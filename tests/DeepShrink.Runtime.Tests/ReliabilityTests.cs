using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;
using Xunit.Abstractions;

namespace DeepShrink.Runtime.Tests;

/// <summary>
/// Issue 17: load-time allocation, one error prefix, and many concurrent calls. Process-wide allocation
/// and heap measurements, so the class runs alone (no other test allocating meanwhile).
/// </summary>
[Collection(nameof(ReliabilityTests))]
public class ReliabilityTests(ITestOutputHelper output)
{
    /// <summary>
    /// The first load under the auto policy (cold JIT: the chooser times its candidates over many rounds
    /// while the JIT settles) of a LeNet-sized .dsz allocates about what a load without timing does: each
    /// candidate's step and the timing input are built once per layer, not once per round.
    /// </summary>
    [Fact]
    public void AutoKernelChoiceAtLoadAllocatesLittle()
    {
        using var dir = new TempDir();
        var path = TestModels.Write(TestModels.Create("lenet-300-100", 50), "lenet-300-100", TestModels.DeepCompression(), dir);
        long fileBytes = new FileInfo(path).Length;
        InferenceModel.Load(path, new RuntimeOptions { Kernels = KernelPolicy.Compressed }); // reading and decoding warm; no timing yet
        long compressed = Allocated(() => InferenceModel.Load(path, new RuntimeOptions { Kernels = KernelPolicy.Compressed }));
        long auto = Allocated(() => InferenceModel.Load(path, new RuntimeOptions { Kernels = KernelPolicy.Auto }));
        output.WriteLine($"file {fileBytes} B; load allocates {compressed >> 10} KiB (compressed kernels), {auto >> 10} KiB (auto: timed choice, first in this process)");
        Assert.True(auto < compressed + (8L << 20), $"auto load allocated {auto >> 20} MiB, compressed load {compressed >> 20} MiB");
    }

    private static long Allocated(Action load)
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        load();
        return GC.GetTotalAllocatedBytes(precise: true) - before;
    }

    [Fact]
    public void DecodeErrorNamesTheTensorOnce()
    {
        var g = new GraphBuilder([4]);
        var graph = g.Finish(g.Add("fc", "linear", [g.Graph.Input], new() { ["weight"] = "fc.weight" }));
        var good = DenseCodec.EncodeF32(new float[12], [3, 4]);
        var bad = new EncodedTensor(good.Codec, [3, 4], good.Params, [new("data", new byte[40])]); // 10 floats for 12
        var e = Assert.Throws<DszFormatException>(() => InferenceModel.Load(graph, n => n == "fc.weight" ? bad : null));
        Assert.StartsWith("tensor 'fc.weight': ", e.Message);
        Assert.DoesNotContain("tensor 'fc.weight': tensor", e.Message);
    }

    /// <summary>10^5 calls from 8 threads give the sequential outputs bit for bit, and the managed heap does not grow.</summary>
    [Fact]
    public void HundredThousandConcurrentCallsMatchSequentialWithoutHeapGrowth()
    {
        using var dir = new TempDir();
        var path = TestModels.Write(TestModels.Create("lenet-300-100", 51), "lenet-300-100", TestModels.DeepCompression(), dir);
        var m = InferenceModel.Load(path, new RuntimeOptions { Kernels = KernelPolicy.Compressed, Threads = 1 });
        const int Threads = 8, Calls = 100_000, Distinct = 32;
        var inputs = Enumerable.Range(0, Distinct).Select(i => Tensor.Randn(new Rng((ulong)(500 + i)), 1f, m.InputSize).Storage).ToArray();
        var expected = inputs.Select(x => m.Run(x, 1)).ToArray();
        int failures = 0, next = 0;
        void Work(int worker)
        {
            var y = new float[m.OutputSize];
            int i;
            while ((i = Interlocked.Increment(ref next)) <= Calls)
            {
                int k = (i * 7 + worker) % Distinct;
                m.Run(inputs[k], 1, y);
                if (!y.AsSpan().SequenceEqual(expected[k])) Interlocked.Increment(ref failures);
            }
        }
        void Round(int calls)
        {
            next = Calls - calls;
            var threads = Enumerable.Range(0, Threads).Select(w => new Thread(() => Work(w))).ToArray();
            foreach (var t in threads) t.Start();
            foreach (var t in threads) t.Join();
        }
        Round(2_000); // warm-up: pools and JIT reach their steady state
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Round(Calls);
        long after = GC.GetTotalMemory(forceFullCollection: true);
        output.WriteLine($"{Calls} calls on {Threads} threads in {sw.Elapsed.TotalSeconds:F1} s; heap {before >> 10} KiB -> {after >> 10} KiB");
        Assert.Equal(0, failures);
        Assert.True(after - before < 2L << 20, $"managed heap grew by {(after - before) >> 10} KiB over {Calls} calls");
    }
}

/// <summary>Runs <see cref="ReliabilityTests"/> with no other test class in parallel.</summary>
[CollectionDefinition(nameof(ReliabilityTests), DisableParallelization = true)]
public sealed class ReliabilityCollection;
